/** SQL for tenants. */
import type { Queryable } from '../db/knex';

export interface Tenant {
  id: string;
  name: string;
  disabledAt: Date | null;
}

export async function insertTenant(q: Queryable, name: string): Promise<Tenant> {
  const [row] = await q('tenants').insert({ name }).returning('*');
  return { id: row.id, name: row.name, disabledAt: row.disabled_at };
}

export async function findTenant(q: Queryable, id: string): Promise<Tenant | undefined> {
  const row = await q('tenants').where({ id }).first();
  return row ? { id: row.id, name: row.name, disabledAt: row.disabled_at } : undefined;
}

/**
 * Deletes the tenant's console sessions (signed in or half way) and the portal sessions of its
 * resources. Sessions are rows of `sessions` (src/web/session-store.ts) keyed by their JSON state.
 */
export async function deleteTenantSessions(q: Queryable, tenantId: string): Promise<number> {
  return q('sessions')
    .whereRaw(`data->>'tenantId' = ?`, [tenantId])
    .orWhereRaw(`data->'pendingAdmin'->>'tenantId' = ?`, [tenantId])
    .orWhereRaw(`data->'portal'->>'resourceId' IN (SELECT id::text FROM resources WHERE tenant_id = ?)`, [tenantId])
    .delete();
}
