/**
 * Enrolment progress of a resource (issue 12 §4): the counts, the members by state, the
 * enrolments over time and the export. Read-only; every call resolves the resource in the
 * tenant first, so an unknown or foreign id is a NotFound, never empty figures.
 */
import type { Db } from '../db/knex';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { mustFindResource } from '../resources/resource-lookup';
import { requireResourceInScope, type Scope } from '../admins/resource-scope';
import * as repo from './enrollment-status.repository';
import type { EnrollmentCounts, EnrollmentStatus, MemberEnrollment } from './enrollment-status.repository';

/** Days shown by the chart at most. */
export const CHART_DAYS = 30;
const EXPORT_BATCH = 1000;

export interface ChartPoint {
  /** UTC day, 'YYYY-MM-DD'. */
  day: string;
  /** Members enrolled at the end of that day (among those enrolled now). */
  enrolled: number;
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Midnight UTC of the chart's first possible day: today - 29 days. */
export function chartWindowStart(now: Date): Date {
  return new Date(Date.parse(`${utcDay(now)}T00:00:00Z`) - (CHART_DAYS - 1) * 86_400_000);
}

/**
 * Cumulative enrolled members per day, from the later of (today - 29 days) and the first
 * assignment day, to today. Enrolments before the window count in its first point.
 */
export function cumulativeByDay(byDay: Array<{ day: string; count: number }>, firstAssignedDay: string | null, now: Date): ChartPoint[] {
  const today = utcDay(now);
  const windowStart = utcDay(chartWindowStart(now));
  const start = firstAssignedDay && firstAssignedDay > windowStart ? (firstAssignedDay > today ? today : firstAssignedDay) : windowStart;
  let total = byDay.filter((d) => d.day < start).reduce((sum, d) => sum + d.count, 0);
  const perDay = new Map(byDay.map((d) => [d.day, d.count]));
  const points: ChartPoint[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); utcDay(new Date(t)) <= today; t += 86_400_000) {
    const day = utcDay(new Date(t));
    total += perDay.get(day) ?? 0;
    points.push({ day, enrolled: total });
  }
  return points;
}

export function createEnrollmentProgressService(db: Db) {
  /** The resource's id once it is known to be the scope's (NotFound otherwise). */
  const resourceIdInScope = async (scope: Scope, resourceId: string) => (await mustFindResource(db, scope, resourceId)).id;

  /** Counts and chart from one set-based statement (the Users tab's progress panel); scoped like counts. */
  async function progress(scope: Scope, resourceId: string, now = new Date()): Promise<{ counts: EnrollmentCounts; chart: ChartPoint[] }> {
    const { counts, days, firstAssignedDay } = await repo.enrollmentFigures(db, scope.tenantId, await resourceIdInScope(scope, resourceId), chartWindowStart(now));
    return { counts, chart: firstAssignedDay ? cumulativeByDay(days, firstAssignedDay, now) : [] };
  }

  return {
    /** Tenant-scoped; NotFound for another tenant's resource or one outside a limited admin's scope. */
    async counts(scope: Scope, resourceId: string): Promise<EnrollmentCounts> {
      return repo.countEnrollment(db, scope.tenantId, await resourceIdInScope(scope, resourceId));
    },

    async members(scope: Scope, resourceId: string, status: EnrollmentStatus | undefined, page: PageRequest): Promise<Page<MemberEnrollment>> {
      const { items, total } = await repo.listMembers(db, scope.tenantId, await resourceIdInScope(scope, resourceId), status, page);
      return toPage(items, total, page);
    },

    /** Status column of the Users tab for one page of members (issue 15 §9); tenant and scope checked. */
    async signInStatusOf(scope: Scope, resourceId: string, userIds: string[]): Promise<Map<string, repo.MemberSignInStatus>> {
      requireResourceInScope(scope, resourceId);
      return repo.signInStatusOf(db, scope.tenantId, resourceId, userIds);
    },

    progress,

    /**
     * Every member of the filter, in login order, in batches (keyset paging): the caller writes
     * each batch out before the next is read. The resource is resolved before the first batch.
     */
    async exportMembers(scope: Scope, resourceId: string, status: EnrollmentStatus | undefined): Promise<AsyncIterable<MemberEnrollment[]>> {
      const id = await resourceIdInScope(scope, resourceId);
      const { tenantId } = scope;
      return {
        async *[Symbol.asyncIterator]() {
          let after: { login: string; userId: string } | undefined;
          do {
            const batch = await repo.membersAfter(db, tenantId, id, status, after, EXPORT_BATCH);
            if (batch.items.length) yield batch.items;
            after = batch.next;
          } while (after);
        },
      };
    },
  };
}

export type EnrollmentProgressService = ReturnType<typeof createEnrollmentProgressService>;
