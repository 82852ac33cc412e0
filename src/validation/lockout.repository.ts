/**
 * Per-user, per-resource failure counting and locks on `resource_users` (SPEC §3 Lockout, SEC-07,
 * SEC-08, SEC-25). An attempt is reserved BEFORE the code is checked, with one atomic UPDATE that
 * refuses once the limit is reached: concurrent wrong codes cannot buy more guesses than the limit
 * (CVE-2024-4629), and the state lives in PostgreSQL, shared by all processes and restarts.
 * The authenticate path applies these same rules in its batched statements (attempt.repository.ts).
 */
import type { Queryable } from '../db/knex';

/** A user id that is nobody's: statements about an unknown login aim at it and match no row. */
export const NO_MEMBER = '00000000-0000-0000-0000-000000000000';

export interface LockPolicy {
  limit: number;
  /** 0 means locked until an admin unlocks. */
  lockMinutes: number;
}

/**
 * Counts one attempt if the user may try now. Returns false when locked, at the limit, or not
 * assigned. An expired lock starts a fresh count.
 */
export async function reserveAttempt(q: Queryable, tenantId: string, resourceId: string, userId: string, limit: number): Promise<boolean> {
  const result = await q.raw(
    `UPDATE resource_users SET
       fail_count = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE fail_count + 1 END,
       locked_until = NULL
     WHERE tenant_id = ? AND resource_id = ? AND user_id = ?
       AND ((locked_until IS NULL AND fail_count < ?) OR locked_until <= now())
     RETURNING fail_count`,
    [tenantId, resourceId, userId, limit],
  );
  return result.rowCount === 1;
}

/** A success clears the count (the reserved attempt included). */
export async function recordSuccess(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<void> {
  await q('resource_users').where({ tenant_id: tenantId, resource_id: resourceId, user_id: userId }).update({ fail_count: 0, locked_until: null });
}

/**
 * SQL: the member row `row` (a table name or alias) is locked and no notice of this lock has gone
 * out yet. The one definition, for every statement that reports or claims a notice.
 */
export const noticeDueSql = (row: string) => `${row}.locked_until > now() AND ${row}.lock_notified_until IS DISTINCT FROM ${row}.locked_until`;

/** What a counted failure did: it started the lock, and whether a notice of the member's lock is due. */
export interface FailureRecorded {
  locked: boolean;
  /** The member is locked and no notice of this lock has gone out yet (lock-notices.ts tells them). */
  noticeDue: boolean;
}

/**
 * A failure keeps its reserved count; reaching the limit starts the lock. One statement also says
 * whether a lock notice is due, of the lock it wrote or of one found in force (a refusal while
 * locked), as the validation path's finish statement does.
 */
export async function recordFailure(q: Queryable, tenantId: string, resourceId: string, userId: string, policy: LockPolicy): Promise<FailureRecorded> {
  const result = await q.raw(
    `WITH locked AS (
       UPDATE resource_users SET locked_until = CASE WHEN ? = 0 THEN 'infinity'::timestamptz ELSE now() + make_interval(mins => ?) END
        WHERE tenant_id = ? AND resource_id = ? AND user_id = ? AND fail_count >= ? AND locked_until IS NULL
       RETURNING ${noticeDueSql('resource_users')} AS notice_due
     )
     SELECT EXISTS (SELECT 1 FROM locked) AS locked,
            coalesce((SELECT notice_due FROM locked),
                     (SELECT ${noticeDueSql('ru')} FROM resource_users ru
                       WHERE ru.tenant_id = ? AND ru.resource_id = ? AND ru.user_id = ?), false) AS notice_due`,
    [policy.lockMinutes, policy.lockMinutes, tenantId, resourceId, userId, policy.limit, tenantId, resourceId, userId],
  );
  const row = result.rows[0];
  return { locked: row.locked, noticeDue: row.notice_due };
}

/** Admin or API unlock: clears the count and the lock. */
export async function unlock(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<boolean> {
  const updated = await q('resource_users').where({ tenant_id: tenantId, resource_id: resourceId, user_id: userId }).update({ fail_count: 0, locked_until: null });
  return updated === 1;
}

/** A lock in force: `until` null means until an administrator unlocks (lock duration 0). */
export interface LockState {
  until: Date | null;
}

/**
 * The user's lock in the resource right now, or undefined. A count at the limit whose lock is not
 * written yet (a failure still committing) reads as a lock of the resource's duration from now.
 */
export async function findLock(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<LockState | undefined> {
  const result = await q.raw(
    `SELECT CASE WHEN ru.locked_until = 'infinity' THEN NULL ELSE ru.locked_until END AS until,
            ru.locked_until IS NULL AS pending, r.lock_minutes
     FROM resource_users ru JOIN resources r ON r.id = ru.resource_id AND r.tenant_id = ru.tenant_id
     WHERE ru.tenant_id = ? AND ru.resource_id = ? AND ru.user_id = ?
       AND (ru.locked_until > now() OR (ru.locked_until IS NULL AND ru.fail_count >= r.failed_attempts_limit))`,
    [tenantId, resourceId, userId],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  if (row.pending) return { until: row.lock_minutes === 0 ? null : new Date(Date.now() + row.lock_minutes * 60_000) };
  return { until: row.until ? new Date(row.until) : null };
}

/**
 * Marks the user's current lock as told, once: returns the lock when this call is the first to
 * see it (so exactly one notice goes out per lock, however many attempts hit it), else undefined.
 */
export async function claimLockNotice(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<LockState | undefined> {
  const result = await q.raw(
    `UPDATE resource_users SET lock_notified_until = locked_until
     WHERE tenant_id = ? AND resource_id = ? AND user_id = ? AND ${noticeDueSql('resource_users')}
     RETURNING CASE WHEN locked_until = 'infinity' THEN NULL ELSE locked_until END AS until`,
    [tenantId, resourceId, userId],
  );
  const row = result.rows[0];
  return row ? { until: row.until ? new Date(row.until) : null } : undefined;
}
