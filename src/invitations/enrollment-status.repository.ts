/**
 * The one definition of a resource member's enrolment state (issue 12 §3, §4), in SQL. Every
 * function takes the tenant id and scopes every table by it.
 *
 * - enrolled: assigned to the resource and owns an enabled token assigned to it that is not a
 *   pending portal enrolment: exactly the tokens sign-in asks a code for (tokensForCheck).
 * - invited: not enrolled, invitation not cancelled and not expired.
 * - invitation_expired: not enrolled, invitation not cancelled but expired.
 * - not_invited: not enrolled, no invitation or a cancelled one.
 * Only members (resource_users) count: unassigned users have no state.
 *
 * Each member's state is kept on its resource_users row by the database (migration
 * 20261206000120: `enrolled_at`, `invitation_expires_at`, recomputed by triggers on every table it
 * depends on), so filters are index ranges and counts index-only at any resource size.
 */
import type { Knex } from 'knex';
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import type { PageRequest } from '../lib/pagination';

export const ENROLLMENT_STATUSES = ['enrolled', 'invited', 'not_invited', 'invitation_expired'] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export function isEnrollmentStatus(value: unknown): value is EnrollmentStatus {
  return typeof value === 'string' && (ENROLLMENT_STATUSES as readonly string[]).includes(value);
}

export interface EnrollmentCounts {
  assigned: number;
  enrolled: number;
  /** Invited (valid invitation) and not enrolled. */
  invited: number;
  /** Every other member not enrolled: never invited, cancelled or expired. */
  notInvited: number;
}

export interface MemberEnrollment {
  userId: string;
  login: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  blocked: boolean;
  status: EnrollmentStatus;
  /** When the invitation was last sent; null without a live (not cancelled) invitation. */
  invitedAt: Date | null;
  expiresAt: Date | null;
  /** Active tokens of the user in the resource. */
  enrolledTokens: number;
  /** Last successful code of one of those tokens: the last sign-in we know of. */
  lastUsedAt: Date | null;
}

/**
 * The one definition of an active token, as SQL over the token alias `t`: enabled and not a portal
 * enrolment still waiting for its confirming code (the tokens sign-in asks a code for).
 */
export function activeTokenSql(t: string): string {
  return `${t}.enabled AND NOT EXISTS (SELECT 1 FROM portal_enrollments pe_${t} WHERE pe_${t}.tenant_id = ${t}.tenant_id AND pe_${t}.token_id = ${t}.id)`;
}

/** The member `ru`'s state, from the columns the database keeps. */
const STATUS_CASE = `CASE WHEN ru.enrolled_at IS NOT NULL THEN 'enrolled'
  WHEN ru.invitation_expires_at IS NULL THEN 'not_invited'
  WHEN ru.invitation_expires_at > now() THEN 'invited'
  ELSE 'invitation_expired' END`;

/**
 * One row per member of the resource: user id, status, active token figures and the live
 * invitation. The token figures come from a LATERAL lookup by (tenant, user) then
 * (token, resource), so the cost grows with the members, not with the tenant's tokens.
 */
function memberStates(q: Queryable, tenantId: string, resourceId: string, userIds?: string[]): Knex.QueryBuilder {
  const query = q('resource_users as ru')
    .leftJoin('enrollment_invitations as ei', function joinInvitation() {
      this.on('ei.resource_id', 'ru.resource_id').andOn('ei.user_id', 'ru.user_id').andOn('ei.tenant_id', 'ru.tenant_id').andOnNull('ei.cancelled_at');
    })
    .joinRaw(
      `CROSS JOIN LATERAL (
        SELECT count(*)::int AS active_tokens, max(t.last_used_at) AS last_used_at
        FROM tokens t
        JOIN token_resources tr ON tr.token_id = t.id AND tr.tenant_id = t.tenant_id AND tr.resource_id = ru.resource_id
        WHERE t.tenant_id = ru.tenant_id AND t.user_id = ru.user_id AND ${activeTokenSql('t')}
      ) act`,
    )
    .where({ 'ru.tenant_id': tenantId, 'ru.resource_id': resourceId })
    .select(
      'ru.user_id',
      'ru.locked_until',
      'act.active_tokens',
      'act.last_used_at',
      'ei.last_sent_at as invited_at',
      'ei.expires_at',
      q.raw(`${STATUS_CASE} AS status`),
    );
  if (userIds) query.whereIn('ru.user_id', userIds);
  return query;
}

/**
 * "The member `ru` is in `status`" as an SQL condition over a resource_users alias: the same
 * states as STATUS_CASE, written so that each is a range of a partial index (enrolled, or not
 * enrolled with the invitation's expiry in the index).
 */
function statusSql(ru: string, status: EnrollmentStatus): string {
  switch (status) {
    case 'enrolled': return enrolledSql(ru);
    case 'invited': return `${ru}.enrolled_at IS NULL AND ${ru}.invitation_expires_at > now()`;
    case 'invitation_expired': return `${ru}.enrolled_at IS NULL AND ${ru}.invitation_expires_at <= now()`;
    case 'not_invited': return `${ru}.enrolled_at IS NULL AND ${ru}.invitation_expires_at IS NULL`;
  }
}

/** "The member `ru` is enrolled", over a resource_users alias; other modules' statements use it too. */
export function enrolledSql(ru: string): string {
  return `${ru}.enrolled_at IS NOT NULL`;
}

/**
 * The member of a row carrying tenant_id, resource_id and user_id (an invitation `i`) is enrolled.
 * Only members count: a user no longer assigned is not enrolled.
 */
export function rowMemberEnrolledSql(row: string): string {
  return `EXISTS (SELECT 1 FROM resource_users ru_e WHERE ru_e.tenant_id = ${row}.tenant_id AND ru_e.resource_id = ${row}.resource_id AND ru_e.user_id = ${row}.user_id AND ${enrolledSql('ru_e')})`;
}

/**
 * The resource's counts, and with `since` (a UTC midnight) its enrolments per UTC day from then,
 * in one statement that reads each member's index entry once: the not enrolled (their index, the
 * invited among them by the included expiry), the enrolled (the enrolment-time index: without
 * `since` a count; with it the enrolments before, then each day's as a range, the last day open,
 * so no per-row date arithmetic), and the first assignment (its index's first entry).
 */
function figuresQuery(q: Queryable, tenantId: string, resourceId: string, since: Date | null): Knex.Raw {
  const members = 'FROM resource_users WHERE tenant_id = ? AND resource_id = ?';
  const scope = [tenantId, resourceId];
  const enrolled = since
    ? `SELECT b.n + coalesce(sum(c.n), 0) AS enrolled, b.n AS enrolled_before,
              json_agg(json_build_array(to_char(c.d AT TIME ZONE 'UTC', 'YYYY-MM-DD'), c.n) ORDER BY c.d) FILTER (WHERE c.n > 0) AS days
         FROM (SELECT count(*) AS n ${members} AND enrolled_at < ?) b
         LEFT JOIN LATERAL (
           SELECT d, day.n FROM generate_series(?::timestamptz, now(), interval '24 hours') d
           CROSS JOIN LATERAL (SELECT count(*) AS n ${members} AND enrolled_at >= d
                                 AND enrolled_at < CASE WHEN d + interval '24 hours' > now() THEN 'infinity' ELSE d + interval '24 hours' END) day
         ) c ON true
        GROUP BY b.n`
    : `SELECT count(*) AS enrolled, 0 AS enrolled_before, NULL::json AS days ${members} AND ${enrolledSql('resource_users')}`;
  const firstDay = since ? `SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS first_day ${members}` : 'SELECT NULL AS first_day';
  return q.raw(
    `SELECT ne.not_enrolled, ne.invited, e.enrolled, e.enrolled_before, e.days, f.first_day
       FROM (SELECT count(*) AS not_enrolled, count(*) FILTER (WHERE invitation_expires_at > now()) AS invited
               ${members} AND enrolled_at IS NULL) ne,
            (${enrolled}) e,
            (${firstDay}) f`,
    [...scope, ...(since ? [...scope, since, since, ...scope, ...scope] : scope)],
  );
}

export interface EnrollmentFigures {
  counts: EnrollmentCounts;
  /**
   * Members enrolled now, per UTC day of their enrolment ('YYYY-MM-DD'), ascending, from `since`;
   * those enrolled earlier are summed on the day before `since`.
   */
  days: Array<{ day: string; count: number }>;
  /** UTC day of the resource's first assignment; null without members. */
  firstAssignedDay: string | null;
}

const NO_COUNTS: EnrollmentCounts = { assigned: 0, enrolled: 0, invited: 0, notInvited: 0 };

function utcDayBefore(date: Date): string {
  return new Date(Date.parse(`${date.toISOString().slice(0, 10)}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

/**
 * Counts of a resource, and with `since` its enrolments per day since then, in one statement (the
 * Users tab's progress panel). The enrolment day is the later of the assignment to the resource
 * and the first assignment of a token still active (see docs/decisions.md). Zeros for an unknown id.
 */
export async function enrollmentFigures(q: Queryable, tenantId: string, resourceId: string, since: Date | null): Promise<EnrollmentFigures> {
  if (!isUuid(resourceId)) return { counts: NO_COUNTS, days: [], firstAssignedDay: null };
  const { rows: [r] } = await figuresQuery(q, tenantId, resourceId, since);
  const [notEnrolled, enrolled, invited, before] = [r.not_enrolled, r.enrolled, r.invited, r.enrolled_before].map(Number);
  const assigned = notEnrolled + enrolled;
  const days = ((r.days ?? []) as Array<[string, string]>).map(([day, count]) => ({ day, count: Number(count) }));
  // The enrolments before `since`: one sum on the day before it.
  if (since && before > 0) days.unshift({ day: utcDayBefore(since), count: before });
  return { counts: { assigned, enrolled, invited, notInvited: assigned - enrolled - invited }, days, firstAssignedDay: r.first_day };
}

/** {assigned, enrolled, invited, notInvited} of a resource; zeros for an unknown id. */
export async function countEnrollment(q: Queryable, tenantId: string, resourceId: string): Promise<EnrollmentCounts> {
  return (await enrollmentFigures(q, tenantId, resourceId, null)).counts;
}

/**
 * The resource's members in `status` (all of them without one), as a resource_users query over
 * the alias `ru`, tenant-scoped, for pages and totals of other modules.
 */
function membersInStatus(q: Queryable, tenantId: string, resourceId: string, status: EnrollmentStatus | undefined): Knex.QueryBuilder {
  const query = q('resource_users as ru').where({ 'ru.tenant_id': tenantId, 'ru.resource_id': resourceId });
  if (status) query.whereRaw(statusSql('ru', status));
  return query;
}

/**
 * One page of the ids of the resource's members in `status`, in (lower(login), id) order, with
 * the filter's exact total: an offset over the login-order index of the state (all members, the
 * enrolled or the not enrolled) and a count, side by side. Tenant-scoped; read-only.
 */
export async function memberPage(q: Queryable, tenantId: string, resourceId: string, status: EnrollmentStatus | undefined, page: PageRequest): Promise<{ ids: string[]; total: number }> {
  const members = membersInStatus(q, tenantId, resourceId, status);
  const [ids, [{ count }]] = await Promise.all([
    members.clone().orderBy(['ru.login_key', 'ru.user_id']).limit(page.perPage).offset((page.page - 1) * page.perPage).pluck('ru.user_id'),
    members.clone().count<{ count: string }[]>('* as count'),
  ]);
  return { ids, total: Number(count) };
}

/** The given members with their states and user fields (the rows of one page or batch). */
function membersQuery(q: Queryable, tenantId: string, resourceId: string, userIds: string[]): Knex.QueryBuilder {
  return q
    .from(memberStates(q, tenantId, resourceId, userIds).as('s'))
    .join('users as u', function joinUser() {
      this.on('u.id', 's.user_id').andOnVal('u.tenant_id', tenantId);
    });
}

const MEMBER_COLUMNS = ['s.*', 'u.login', 'u.email', 'u.first_name', 'u.last_name', 'u.blocked_at'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toMember(r: any): MemberEnrollment {
  return {
    userId: r.user_id,
    login: r.login,
    email: r.email,
    firstName: r.first_name,
    lastName: r.last_name,
    blocked: Boolean(r.blocked_at),
    status: r.status,
    invitedAt: r.invited_at ?? null,
    expiresAt: r.expires_at ?? null,
    enrolledTokens: r.active_tokens,
    lastUsedAt: r.last_used_at ?? null,
  };
}

/** The members' rows with states, in login order (the order of `ids` is not kept by SQL). */
async function membersWithStates(q: Queryable, tenantId: string, resourceId: string, ids: string[]): Promise<MemberEnrollment[]> {
  if (ids.length === 0) return [];
  const rows = await membersQuery(q, tenantId, resourceId, ids).select(MEMBER_COLUMNS).orderByRaw('lower(u.login), u.id');
  return rows.map(toMember);
}

/**
 * One page of the members by login, optionally of one status, with the filter's total. The
 * page's ids come first from the login-order index of resource_users (login_key, kept by
 * triggers), then states are computed for those rows only; the filter is set-based (statusSql).
 */
export async function listMembers(q: Queryable, tenantId: string, resourceId: string, status: EnrollmentStatus | undefined, page: PageRequest): Promise<{ items: MemberEnrollment[]; total: number }> {
  if (!isUuid(resourceId)) return { items: [], total: 0 };
  const { ids, total } = await memberPage(q, tenantId, resourceId, status, page);
  return { items: await membersWithStates(q, tenantId, resourceId, ids), total };
}

/**
 * The next `limit` members after `after` in (lower(login), id) order, with the states of those
 * among them in `status` (all of them without a status), and where the following batch starts
 * (none at the end). The CSV export reads the whole list this way: each batch computes states for
 * `limit` members only, so the export costs the same per member for any resource size, and
 * memory stays flat.
 */
export async function membersAfter(q: Queryable, tenantId: string, resourceId: string, status: EnrollmentStatus | undefined, after: { login: string; userId: string } | undefined, limit: number): Promise<{ items: MemberEnrollment[]; next?: { login: string; userId: string } }> {
  if (!isUuid(resourceId)) return { items: [] };
  const slice = membersInStatus(q, tenantId, resourceId, undefined).orderBy(['ru.login_key', 'ru.user_id']).limit(limit).select('ru.user_id', 'ru.login_key');
  if (after) slice.whereRaw('(ru.login_key, ru.user_id) > (lower(?), ?::uuid)', [after.login, after.userId]);
  const members: Array<{ user_id: string; login_key: string }> = await slice;
  if (members.length === 0) return { items: [] };
  const batch = status ? await membersInStatus(q, tenantId, resourceId, status).whereIn('ru.user_id', members.map((m) => m.user_id)).pluck('ru.user_id') : members.map((m) => m.user_id);
  const last = members[members.length - 1];
  return { items: await membersWithStates(q, tenantId, resourceId, batch), next: members.length === limit ? { login: last.login_key, userId: last.user_id } : undefined };
}

/** A member's sign-in status in the resource (issue 15 §9): the Users tab's status column. */
export interface MemberSignInStatus {
  enrolledTokens: number;
  /** Last successful code of one of the member's active tokens in the resource. */
  lastUsedAt: Date | null;
  /** A lock in force: `until` null means until an admin unlocks; undefined when not locked. */
  lock?: { until: Date | null };
}

/**
 * The status of the given members (one page of the tab) in one query, keyed by user id. Locks
 * are read with the same rule as lockout.findLock's stored part: `locked_until` in the future
 * (pg answers `infinity`, "until unlocked", as the number Infinity).
 */
export async function signInStatusOf(q: Queryable, tenantId: string, resourceId: string, userIds: string[]): Promise<Map<string, MemberSignInStatus>> {
  const ids = userIds.filter(isUuid);
  if (!isUuid(resourceId) || ids.length === 0) return new Map();
  const rows = await q
    .from(memberStates(q, tenantId, resourceId, ids).as('s'))
    .select('s.user_id', 's.active_tokens', 's.last_used_at', q.raw(`CASE WHEN s.locked_until > now() THEN s.locked_until END AS locked_until`), q.raw(`s.locked_until = 'infinity' AS forever`));
  return new Map(rows.map((r: { user_id: string; active_tokens: number; last_used_at: Date | null; locked_until: Date | number | null; forever: boolean }) => [r.user_id, {
    enrolledTokens: r.active_tokens,
    lastUsedAt: r.last_used_at ?? null,
    lock: r.locked_until === null ? undefined : { until: r.forever ? null : (r.locked_until as Date) },
  }]));
}

/** The figures query's SQL (with `?` placeholders) and bindings, days since `since` included: the tests EXPLAIN it. */
export function countEnrollmentSql(q: Queryable, tenantId: string, resourceId: string, since: Date): { sql: string; bindings: readonly unknown[] } {
  const { sql, bindings } = figuresQuery(q, tenantId, resourceId, since).toSQL();
  return { sql, bindings };
}
