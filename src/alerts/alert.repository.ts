/** Alert subscriptions and the lockout throttle: SQL only, scoped by tenant. */
import type { Queryable } from '../db/knex';
import type { AlertKind } from './alert-kinds';

export async function kindsOf(q: Queryable, tenantId: string, adminId: string): Promise<AlertKind[]> {
  const rows = await q('admin_alert_subscriptions').where({ tenant_id: tenantId, admin_id: adminId }).orderBy('kind').select('kind');
  return rows.map((r: { kind: AlertKind }) => r.kind);
}

/** Replaces an admin's subscriptions; returns whether anything changed. */
export async function replaceKinds(q: Queryable, tenantId: string, adminId: string, kinds: AlertKind[]): Promise<boolean> {
  const removed = await q('admin_alert_subscriptions').where({ tenant_id: tenantId, admin_id: adminId }).whereNotIn('kind', kinds).delete();
  const added = kinds.length
    ? await q('admin_alert_subscriptions').insert(kinds.map((kind) => ({ tenant_id: tenantId, admin_id: adminId, kind }))).onConflict(['admin_id', 'kind']).ignore().returning('kind')
    : [];
  return removed > 0 || added.length > 0;
}

/** Every admin of the tenant with their kinds (the owner's view of who receives what). */
export async function overview(q: Queryable, tenantId: string): Promise<Array<{ adminId: string; email: string; role: string; disabled: boolean; kinds: AlertKind[] }>> {
  const rows = await q('admins as a')
    .leftJoin('admin_alert_subscriptions as s', function () {
      this.on('s.admin_id', '=', 'a.id').andOn('s.tenant_id', '=', 'a.tenant_id');
    })
    .where('a.tenant_id', tenantId)
    .groupBy('a.id', 'a.email', 'a.role', 'a.disabled_at')
    .orderBy('a.email')
    .select('a.id', 'a.email', 'a.role', q.raw('a.disabled_at IS NOT NULL AS disabled'), q.raw("coalesce(array_agg(s.kind ORDER BY s.kind) FILTER (WHERE s.kind IS NOT NULL), '{}') AS kinds"));
  return rows.map((r: { id: string; email: string; role: string; disabled: boolean; kinds: AlertKind[] }) => ({ adminId: r.id, email: r.email, role: r.role, disabled: r.disabled, kinds: r.kinds }));
}

/** Active admins of these tenants subscribed to these kinds (dispatcher). */
export async function recipients(q: Queryable, tenantIds: string[], kinds: AlertKind[]): Promise<Array<{ tenantId: string; kind: AlertKind; email: string }>> {
  if (tenantIds.length === 0 || kinds.length === 0) return [];
  const rows = await q('admin_alert_subscriptions as s')
    .join('admins as a', function () {
      this.on('a.id', '=', 's.admin_id').andOn('a.tenant_id', '=', 's.tenant_id');
    })
    .whereIn('s.tenant_id', tenantIds)
    .whereIn('s.kind', kinds)
    .whereNull('a.disabled_at')
    .select('s.tenant_id', 's.kind', 'a.email');
  return rows.map((r: { tenant_id: string; kind: AlertKind; email: string }) => ({ tenantId: r.tenant_id, kind: r.kind, email: r.email }));
}

/**
 * Takes the right to send the alert keyed `key` now: true at most once per `windowMinutes` (one
 * atomic upsert, so concurrent dispatchers agree).
 */
export async function takeThrottle(q: Queryable, tenantId: string, key: string, windowMinutes: number, now: Date): Promise<boolean> {
  const rows = await q.raw(
    `INSERT INTO alert_throttle (tenant_id, key, sent_at) VALUES (?, ?, ?)
     ON CONFLICT (tenant_id, key) DO UPDATE SET sent_at = EXCLUDED.sent_at
      WHERE alert_throttle.sent_at <= EXCLUDED.sent_at - make_interval(mins => ?)
     RETURNING 1`,
    [tenantId, key, now, windowMinutes],
  );
  return rows.rows.length === 1;
}
