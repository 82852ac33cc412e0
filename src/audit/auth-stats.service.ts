/**
 * Authentication results for the console (issue 15 §12): per resource, successes, failures and
 * locks per hour for 24 hours and per UTC day for 30 days; and the tenant at a glance for the home
 * page. Read-only; every call is tenant- and scope-bound.
 */
import type { Db } from '../db/knex';
import { mustFindResource } from '../resources/resource-lookup';
import { whereResourceInScope, whereUserInScope, type Scope } from '../admins/resource-scope';
import { enrolledSql } from '../invitations/enrollment-status.repository';
import * as repo from './auth-stats.repository';

export type AuthCounts = repo.AuthCounts;
export const HOURS = 24;
export const DAYS = 30;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * `count` consecutive buckets of `size` ms ending with the one holding `now`, each with its counts
 * (zero where the database had none). Pure, for the tests.
 */
export function fillBuckets(rows: AuthCounts[], now: Date, size: number, count: number): AuthCounts[] {
  const byAt = new Map(rows.map((r) => [r.at, r]));
  const last = Math.floor(now.getTime() / size) * size;
  const out: AuthCounts[] = [];
  for (let i = count - 1; i >= 0; i--) {
    // Same text as the SQL's to_char: 'YYYY-MM-DDTHH:00:00Z' (buckets are whole hours or days).
    const at = new Date(last - i * size).toISOString().replace('.000Z', 'Z');
    const found = byAt.get(at);
    out.push({ at, successes: found?.successes ?? 0, failures: found?.failures ?? 0, locks: found?.locks ?? 0 });
  }
  return out;
}

export function createAuthStatsService(db: Db) {
  return {
    /** NotFound for another tenant's resource or one outside a limited admin's scope. */
    async resourceActivity(scope: Scope, resourceId: string, now = new Date()): Promise<{ hourly: AuthCounts[]; daily: AuthCounts[] }> {
      const resource = await mustFindResource(db, scope, resourceId);
      const hourStart = new Date(Math.floor(now.getTime() / HOUR) * HOUR - (HOURS - 1) * HOUR);
      const dayStart = new Date(Math.floor(now.getTime() / DAY) * DAY - (DAYS - 1) * DAY);
      const [hours, days] = await Promise.all([
        repo.countByBucket(db, scope.tenantId, resource.id, hourStart, 'hour'),
        repo.countByBucket(db, scope.tenantId, resource.id, dayStart, 'day'),
      ]);
      return { hourly: fillBuckets(hours, now, HOUR, HOURS), daily: fillBuckets(days, now, DAY, DAYS) };
    },

    /** The console home: resources, users, enrolment share, authentications in 24 h, recent locks. */
    async overview(scope: Scope, now = new Date()) {
      const resources = whereResourceInScope(db('resources').where('tenant_id', scope.tenantId), 'id', scope).count<{ count: string }[]>('* as count');
      const users = whereUserInScope(db, db('users').where('tenant_id', scope.tenantId), 'id', scope).count<{ count: string }[]>('* as count');
      // Memberships enrolled (the enrolment-status definition), over the scope's resources.
      const members = whereResourceInScope(db('resource_users as ru').where('ru.tenant_id', scope.tenantId), 'ru.resource_id', scope).first(
        db.raw('count(*)::int AS assigned'),
        db.raw(`count(*) FILTER (WHERE ${enrolledSql('ru')})::int AS enrolled`),
      );
      const [[r], [u], m, auth, locks] = await Promise.all([resources, users, members, repo.countSince(db, scope, new Date(now.getTime() - DAY)), repo.recentLocks(db, scope, 10)]);
      const assigned = m?.assigned ?? 0;
      const enrolled = m?.enrolled ?? 0;
      return { resources: Number(r.count), users: Number(u.count), assigned, enrolled, enrolledPercent: assigned ? Math.floor((enrolled * 100) / assigned) : 0, auth, locks };
    },
  };
}

export type AuthStatsService = ReturnType<typeof createAuthStatsService>;
