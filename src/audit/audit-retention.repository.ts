/** SQL of audit retention: the per-tenant setting and the batched purge. */
import type { Queryable } from '../db/knex';

export const DEFAULT_AUDIT_RETENTION_DAYS = 400;
export const MIN_AUDIT_RETENTION_DAYS = 30;
export const MAX_AUDIT_RETENTION_DAYS = 3650;

export async function findRetentionDays(q: Queryable, tenantId: string): Promise<number | undefined> {
  const row = await q('tenants').where({ id: tenantId }).first('audit_retention_days');
  return row?.audit_retention_days;
}

export async function updateRetentionDays(q: Queryable, tenantId: string, days: number): Promise<void> {
  await q('tenants').where({ id: tenantId }).update({ audit_retention_days: days });
}

/** The next tenants after `afterId` (keyset over the primary key), with their retention. */
export async function tenantsAfter(q: Queryable, afterId: string | undefined, limit: number): Promise<Array<{ id: string; days: number }>> {
  const rows = await q('tenants')
    .modify((b) => (afterId ? b.where('id', '>', afterId) : b))
    .orderBy('id')
    .limit(limit)
    .select('id', 'audit_retention_days as days');
  return rows as Array<{ id: string; days: number }>;
}

/**
 * Deletes at most `limit` of the tenant's events older than `days`, oldest first, and returns how
 * many. The inner select is a range scan of (tenant_id, created_at, id) that stops after `limit`
 * entries, so each statement costs the same whatever the log's size, holds its row locks briefly,
 * and leaves the rest of the table to the validation path's inserts. The cutoff is the database's
 * clock, like created_at itself.
 */
export async function deleteExpiredBatch(q: Queryable, tenantId: string, days: number, limit: number): Promise<number> {
  const result = await q.raw(
    `DELETE FROM audit_events
      WHERE tenant_id = :tenantId
        AND id IN (SELECT id FROM audit_events
                    WHERE tenant_id = :tenantId AND created_at < now() - make_interval(days => :days)
                    ORDER BY created_at, id
                    LIMIT :limit)`,
    { tenantId, days, limit },
  );
  return result.rowCount ?? 0;
}
