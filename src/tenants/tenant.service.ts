/**
 * Operator actions on a whole tenant (SEC-15): disabling one stops everything it does at once —
 * console sign-in and open console sessions, its API keys (every web process within the API-key
 * cache's 2 s), its portals (404) and so every portal session and validation. Run from the CLI.
 */
import type { Db } from '../db/knex';
import { isUuid } from '../db/errors';
import { NotFoundError } from '../lib/errors';
import { recordAudit } from '../audit/audit.repository';
import { systemActor } from '../audit/actor';
import { deleteTenantSessions, findTenant, type Tenant } from './tenant.repository';

export type TenantService = ReturnType<typeof createTenantService>;

export function createTenantService(db: Db) {
  return {
    /**
     * Disables or re-enables a tenant, audited in the same transaction as `tenant.disabled` /
     * `tenant.enabled` with `by` as the actor's label. Idempotent: a tenant already in that state
     * is left as it is and nothing is audited. Throws NotFoundError for an unknown id.
     */
    async setDisabled(tenantId: string, disabled: boolean, by = 'cli'): Promise<Tenant & { changed: boolean }> {
      if (!isUuid(tenantId)) throw new NotFoundError('Tenant');
      return db.transaction(async (trx) => {
        const tenant = await findTenant(trx, tenantId);
        if (!tenant) throw new NotFoundError('Tenant');
        if (Boolean(tenant.disabledAt) === disabled) return { ...tenant, changed: false };
        const [row] = await trx('tenants').where({ id: tenantId }).update({ disabled_at: disabled ? trx.fn.now() : null }).returning('disabled_at');
        // Every session of the tenant ends now (console and portals), not when it would next be used:
        // re-enabling the tenant later must not bring them back.
        const ended = disabled ? await deleteTenantSessions(trx, tenantId) : 0;
        await recordAudit(trx, systemActor(tenantId, by), { action: disabled ? 'tenant.disabled' : 'tenant.enabled', targetType: 'tenant', targetId: tenantId, details: disabled ? { sessionsEnded: ended } : undefined });
        return { ...tenant, disabledAt: row.disabled_at, changed: true };
      });
    },
  };
}
