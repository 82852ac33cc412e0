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
        SELECT count(*)::int AS active_tokens, max(t.last_used_at) AS last_used_at, min(tr.created_at) AS first_assigned_at
        FROM tokens t
        JOIN token_resources tr ON tr.token_id = t.id AND tr.tenant_id = t.tenant_id AND tr.resource_id = ru.resource_id
        WHERE t.tenant_id = ru.tenant_id AND t.user_id = ru.user_id AND ${activeTokenSql('t')}
      ) act`,
    )
    .where({ 'ru.tenant_id': tenantId, 'ru.resource_id': resourceId })
    .select(
      'ru.user_id',
      'ru.created_at as assigned_at',
      'ru.locked_until',
      'act.active_tokens',
      'act.last_used_at',
      'act.first_assigned_at',
      'ei.last_sent_at as invited_at',
      'ei.expires_at',
      q.raw(`CASE WHEN act.active_tokens > 0 THEN 'enrolled'
        WHEN ei.id IS NULL THEN 'not_invited'
        WHEN ei.expires_at > now() THEN 'invited'
        ELSE 'invitation_expired' END AS status`),
    );
  if (userIds) query.whereIn('ru.user_id', userIds);
  return query;
}

/**
 * A live invitation of the member `ru` (not cancelled), optionally narrowed by `extra` over the
 * alias `ei_s`. With enrolledSql, the set-based form of the CASE in memberStates.
 */
function liveInvitationSql(ru: string, extra = ''): string {
  return `EXISTS (SELECT 1 FROM enrollment_invitations ei_s WHERE ei_s.tenant_id = ${ru}.tenant_id AND ei_s.resource_id = ${ru}.resource_id AND ei_s.user_id = ${ru}.user_id AND ei_s.cancelled_at IS NULL${extra})`;
}

/**
 * "The member `ru` is in `status`" as an SQL condition over a resource_users alias: the same
 * states as memberStates' CASE, written as (anti-)semi-joins so the planner can answer a whole
 * filter with hash joins (the enrolled set is read once) instead of a lookup per member.
 */
export function statusSql(ru: string, status: EnrollmentStatus): string {
  const enrolled = enrolledSql(`${ru}.tenant_id`, `${ru}.resource_id`, `${ru}.user_id`);
  switch (status) {
    case 'enrolled': return enrolled;
    case 'invited': return `NOT ${enrolled} AND ${liveInvitationSql(ru, ' AND ei_s.expires_at > now()')}`;
    case 'invitation_expired': return `NOT ${enrolled} AND ${liveInvitationSql(ru, ' AND ei_s.expires_at <= now()')}`;
    case 'not_invited': return `NOT ${enrolled} AND NOT ${liveInvitationSql(ru)}`;
  }
}

/**
 * The resource's figures in one set-based statement: members grouped by the UTC day of their
 * enrolment (null for members not enrolled), with the invited among the not enrolled and the
 * first assignment. The enrolled set is aggregated once from the resource's token assignments
 * (a hash join), not looked up member by member.
 */
function figuresQuery(q: Queryable, tenantId: string, resourceId: string): Knex.Raw {
  return q.raw(
    `WITH enrolled AS (
       SELECT t.user_id, min(tr.created_at) AS first_assigned_at
         FROM token_resources tr
         JOIN tokens t ON t.id = tr.token_id AND t.tenant_id = tr.tenant_id
        WHERE tr.tenant_id = ? AND tr.resource_id = ? AND ${activeTokenSql('t')}
        GROUP BY t.user_id
     ), per_day AS (
       SELECT CASE WHEN e.user_id IS NOT NULL THEN (greatest(e.first_assigned_at, ru.created_at) AT TIME ZONE 'UTC')::date END AS day,
              count(*)::int AS members,
              count(*) FILTER (WHERE e.user_id IS NULL AND ei.expires_at > now())::int AS invited,
              min(ru.created_at) AS first_assigned_at
         FROM resource_users ru
         LEFT JOIN enrolled e ON e.user_id = ru.user_id
         LEFT JOIN enrollment_invitations ei ON ei.tenant_id = ru.tenant_id AND ei.resource_id = ru.resource_id AND ei.user_id = ru.user_id AND ei.cancelled_at IS NULL
        WHERE ru.tenant_id = ? AND ru.resource_id = ?
        GROUP BY 1
     )
     SELECT to_char(day, 'YYYY-MM-DD') AS day, members, invited, to_char(first_assigned_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS first_day
       FROM per_day ORDER BY day NULLS FIRST`,
    [tenantId, resourceId, tenantId, resourceId],
  );
}

export interface EnrollmentFigures {
  counts: EnrollmentCounts;
  /** Members enrolled now, per UTC day of their enrolment ('YYYY-MM-DD'), ascending. */
  days: Array<{ day: string; count: number }>;
  /** UTC day of the resource's first assignment; null without members. */
  firstAssignedDay: string | null;
}

/**
 * Counts and enrolments per day of a resource in one statement (the Users tab's progress panel).
 * The enrolment day is the later of the assignment to the resource and the first assignment of
 * a token still active (see docs/decisions.md). Zeros for an unknown id.
 */
export async function enrollmentFigures(q: Queryable, tenantId: string, resourceId: string): Promise<EnrollmentFigures> {
  const empty = { counts: { assigned: 0, enrolled: 0, invited: 0, notInvited: 0 }, days: [], firstAssignedDay: null };
  if (!isUuid(resourceId)) return empty;
  const { rows } = await figuresQuery(q, tenantId, resourceId);
  if (rows.length === 0) return empty;
  let assigned = 0, enrolled = 0, invited = 0;
  let firstAssignedDay: string | null = null;
  const days: Array<{ day: string; count: number }> = [];
  for (const r of rows as Array<{ day: string | null; members: number; invited: number; first_day: string }>) {
    assigned += r.members;
    invited += r.invited;
    if (r.day !== null) {
      enrolled += r.members;
      days.push({ day: r.day, count: r.members });
    }
    if (firstAssignedDay === null || r.first_day < firstAssignedDay) firstAssignedDay = r.first_day;
  }
  return { counts: { assigned, enrolled, invited, notInvited: assigned - enrolled - invited }, days, firstAssignedDay };
}

/** {assigned, enrolled, invited, notInvited} of a resource; zeros for an unknown id. */
export async function countEnrollment(q: Queryable, tenantId: string, resourceId: string): Promise<EnrollmentCounts> {
  return (await enrollmentFigures(q, tenantId, resourceId)).counts;
}

/**
 * The resource's members in `status` (all of them without one), as a resource_users query over
 * the alias `ru`, tenant-scoped, for pages and totals of other modules.
 */
export function membersInStatus(q: Queryable, tenantId: string, resourceId: string, status: EnrollmentStatus | undefined): Knex.QueryBuilder {
  const query = q('resource_users as ru').where({ 'ru.tenant_id': tenantId, 'ru.resource_id': resourceId });
  if (status) query.whereRaw(statusSql('ru', status));
  return query;
}

/**
 * One page of the ids of the resource's members in `status`, in (lower(login), id) order, with
 * the filter's exact total. Tenant-scoped; read-only.
 * - Without a status: an offset over the login-order index and a count of the members, both
 *   index-only, run side by side.
 * - With one: the matching members are gathered once (materialised, so the filter runs as hash
 *   joins over the enrolled set), then counted (a window over the same rows) and sorted for the
 *   page. Left to itself the planner walks the login order testing member by member when it
 *   guesses that matches are common, a lookup per member when they are rare (0.6 s for an empty
 *   state at 100 000 members); and a separate count would build the set a second time.
 */
export async function memberPage(q: Queryable, tenantId: string, resourceId: string, status: EnrollmentStatus | undefined, page: PageRequest): Promise<{ ids: string[]; total: number }> {
  const offset = (page.page - 1) * page.perPage;
  if (!status) {
    const members = membersInStatus(q, tenantId, resourceId, undefined);
    const [ids, [{ count }]] = await Promise.all([
      members.clone().orderBy(['ru.login_key', 'ru.user_id']).limit(page.perPage).offset(offset).pluck('ru.user_id'),
      members.clone().count<{ count: string }[]>('* as count'),
    ]);
    return { ids, total: Number(count) };
  }
  const rows: Array<{ user_id: string; total: string }> = await q.queryBuilder()
    .withMaterialized('matching', membersInStatus(q, tenantId, resourceId, status).select('ru.user_id', 'ru.login_key'))
    .from('matching')
    .select('user_id', q.raw('count(*) OVER () AS total'))
    .orderBy(['login_key', 'user_id'])
    .limit(page.perPage)
    .offset(offset);
  if (rows.length > 0) return { ids: rows.map((r) => r.user_id), total: Number(rows[0].total) };
  // Past the last page the window has no row to carry the total: count on its own.
  const [{ count }] = offset === 0 ? [{ count: '0' }] : await membersInStatus(q, tenantId, resourceId, status).count<{ count: string }[]>('* as count');
  return { ids: [], total: Number(count) };
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

/** The figures query's SQL (with `?` placeholders) and bindings: the tests EXPLAIN it. */
export function countEnrollmentSql(q: Queryable, tenantId: string, resourceId: string): { sql: string; bindings: readonly unknown[] } {
  const { sql, bindings } = figuresQuery(q, tenantId, resourceId).toSQL();
  return { sql, bindings };
}

/**
 * "Enrolled" as an SQL boolean expression, for statements of other modules (the invitations'
 * skips and reminders): a token of the user in the resource that is active (activeTokenSql), as
 * memberStates counts them. `tenant`,
 * `resource` and `user` are column references of the outer query (e.g. `ru.tenant_id`), never
 * user input.
 */
export function enrolledSql(tenant: string, resource: string, user: string): string {
  return `EXISTS (SELECT 1 FROM token_resources tr_e JOIN tokens t_e ON t_e.id = tr_e.token_id AND t_e.tenant_id = tr_e.tenant_id
    WHERE tr_e.tenant_id = ${tenant} AND tr_e.resource_id = ${resource} AND t_e.user_id = ${user} AND ${activeTokenSql('t_e')})`;
}
