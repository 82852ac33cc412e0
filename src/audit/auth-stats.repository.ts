/**
 * Authentication results counted from the audit log (issue 15 §12): successes and failures are the
 * `authenticate` events, a lock is its one `user.lock.notified` event (written once per lock on
 * every path: API, RADIUS, portal, security key). Every query takes the tenant id and reads the
 * (tenant_id, resource_id, created_at, id) or (tenant_id, action, created_at, id) indexes of
 * migrations/20261206000050_audit_log_filters.ts, bounded by time.
 */
import type { Queryable } from '../db/knex';
import { whereResourceInScope, type Scope } from '../admins/resource-scope';

export const LOCK_ACTION = 'user.lock.notified';

export interface AuthCounts {
  /** Bucket start, ISO (hour or UTC day). */
  at: string;
  successes: number;
  failures: number;
  locks: number;
}

/** The query of countByBucket, unrun (the tests EXPLAIN it). */
export function countByBucketQuery(q: Queryable, tenantId: string, resourceId: string, since: Date, unit: 'hour' | 'day') {
  return q('audit_events')
    .where({ tenant_id: tenantId, resource_id: resourceId })
    .where('created_at', '>=', since)
    .whereIn('action', ['authenticate', LOCK_ACTION])
    .groupByRaw('1')
    .orderByRaw('1')
    .select(
      q.raw(`to_char(date_trunc(?, created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:00:00"Z"') AS at`, [unit]),
      q.raw(`count(*) FILTER (WHERE action = 'authenticate' AND result = 'success')::int AS successes`),
      q.raw(`count(*) FILTER (WHERE action = 'authenticate' AND result = 'failure')::int AS failures`),
      q.raw(`count(*) FILTER (WHERE action = ?)::int AS locks`, [LOCK_ACTION]),
    );
}

/** Counts per `unit` ('hour' | 'day', UTC) of one resource since `since`; buckets without events are absent. */
export async function countByBucket(q: Queryable, tenantId: string, resourceId: string, since: Date, unit: 'hour' | 'day'): Promise<AuthCounts[]> {
  return (await countByBucketQuery(q, tenantId, resourceId, since, unit)) as AuthCounts[];
}

/** The tenant's (the scope's) authentication results since `since`. */
export async function countSince(q: Queryable, scope: Scope, since: Date): Promise<{ successes: number; failures: number }> {
  const query = q('audit_events').where({ tenant_id: scope.tenantId, action: 'authenticate' }).where('created_at', '>=', since);
  whereResourceInScope(query, 'resource_id', scope);
  const row = await query.first(
    q.raw(`count(*) FILTER (WHERE result = 'success')::int AS successes`),
    q.raw(`count(*) FILTER (WHERE result = 'failure')::int AS failures`),
  );
  return { successes: row?.successes ?? 0, failures: row?.failures ?? 0 };
}

export interface RecentLock {
  at: Date;
  userId: string;
  login: string | null;
  resourceId: string;
  resourceName: string | null;
  until: string | null;
}

/** The latest locks of the tenant (the scope's resources), newest first. */
export async function recentLocks(q: Queryable, scope: Scope, limit: number): Promise<RecentLock[]> {
  const query = q('audit_events as a')
    .leftJoin('users as u', function joinUser() {
      this.on('a.target_id', q.raw('u.id::text')).andOn('u.tenant_id', 'a.tenant_id');
    })
    .leftJoin('resources as r', function joinResource() {
      this.on('r.id', 'a.resource_id').andOn('r.tenant_id', 'a.tenant_id');
    })
    .where({ 'a.tenant_id': scope.tenantId, 'a.action': LOCK_ACTION })
    .orderBy([{ column: 'a.created_at', order: 'desc' }, { column: 'a.id', order: 'desc' }])
    .limit(limit)
    .select('a.created_at', 'a.target_id', 'a.resource_id', 'u.login', 'r.name', q.raw(`a.details->>'until' AS until`));
  whereResourceInScope(query, 'a.resource_id', scope);
  const rows = await query;
  return rows.map((r: { created_at: Date; target_id: string; resource_id: string; login: string | null; name: string | null; until: string | null }) => ({ at: r.created_at, userId: r.target_id, login: r.login, resourceId: r.resource_id, resourceName: r.name, until: r.until }));
}
