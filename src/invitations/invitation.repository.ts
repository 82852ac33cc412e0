/**
 * SQL for enrolment invitations (issue 12 §3). Every query is scoped by tenant id except the job
 * and sweep ones, which name rows by id (the rows carry their tenant). "Enrolled" comes from
 * enrollment-status.repository.ts, the one definition the progress counts use too.
 */
import type { Queryable } from '../db/knex';
import { fetchPage } from '../db/paging';
import { isUuid } from '../db/errors';
import type { PageRequest } from '../lib/pagination';
import { enrolledSql, rowMemberEnrolledSql } from './enrollment-status.repository';
import type { InvitationStatus, PendingEmail } from './invitation.types';

const ENROLLED_RU = enrolledSql('ru');
const ENROLLED_I = rowMemberEnrolledSql('i');

/** What the invite rules need about an assigned user. */
export interface Candidate {
  userId: string;
  email: string | null;
  blocked: boolean;
  enrolled: boolean;
  /** An open invitation was sent less than 24 h ago. */
  invitedRecently: boolean;
  /** Has an invitation row (open, expired or cancelled). */
  hasInvitation: boolean;
}

/**
 * The assigned users of the resource among `userIds` (all the not-enrolled ones when null).
 * Ids of users that are unknown, of another tenant or not assigned are simply absent.
 */
export async function findCandidates(q: Queryable, tenantId: string, resourceId: string, userIds: string[] | null): Promise<Candidate[]> {
  const rows = await q.raw(
    `SELECT u.id AS user_id, u.email, u.blocked_at IS NOT NULL AS blocked, ${ENROLLED_RU} AS enrolled,
            coalesce(i.cancelled_at IS NULL AND i.last_sent_at > now() - interval '24 hours', false) AS invited_recently,
            i.id IS NOT NULL AS has_invitation
       FROM resource_users ru
       JOIN users u ON u.id = ru.user_id AND u.tenant_id = ru.tenant_id
       LEFT JOIN enrollment_invitations i ON i.tenant_id = ru.tenant_id AND i.resource_id = ru.resource_id AND i.user_id = ru.user_id
      WHERE ru.tenant_id = ? AND ru.resource_id = ? AND ${userIds ? 'ru.user_id = ANY(?::uuid[])' : `NOT ${ENROLLED_RU}`}
      ORDER BY u.login`,
    userIds ? [tenantId, resourceId, userIds] : [tenantId, resourceId],
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return rows.rows.map((r: any) => ({ userId: r.user_id, email: r.email, blocked: r.blocked, enrolled: r.enrolled, invitedRecently: r.invited_recently, hasInvitation: r.has_invitation }));
}

export interface Schedule {
  /** Days the invitation stays valid. */
  days: number;
  /** Days after sending when the first reminder is due; null: none. */
  firstReminderDays: number | null;
}

/**
 * Opens (or re-opens) the invitation of each user and marks its email as owed. Without `force`, a
 * row sent less than 24 h ago and not cancelled is left alone even if another transaction wrote it
 * a moment ago (the conflict waits for it), so a double click sends once. Returns the rows written.
 */
export async function openInvitations(q: Queryable, tenantId: string, resourceId: string, userIds: string[], schedule: Schedule, force = false): Promise<Array<{ id: string; userId: string }>> {
  if (!userIds.length) return [];
  const rows = await q.raw(
    `INSERT INTO enrollment_invitations AS i (tenant_id, resource_id, user_id, last_sent_at, expires_at, reminders_sent, next_reminder_at, cancelled_at, pending_email)
     SELECT ?, ?, id, now(), now() + make_interval(days => ?), 0,
            CASE WHEN ?::int IS NULL THEN NULL ELSE now() + make_interval(days => ?::int) END, NULL, 'invitation'
       FROM unnest(?::uuid[]) AS id
     ON CONFLICT (resource_id, user_id) DO UPDATE
        SET last_sent_at = excluded.last_sent_at, expires_at = excluded.expires_at, reminders_sent = 0,
            next_reminder_at = excluded.next_reminder_at, cancelled_at = NULL, pending_email = 'invitation'
      ${force ? '' : "WHERE i.cancelled_at IS NOT NULL OR i.last_sent_at <= now() - interval '24 hours'"}
     RETURNING i.id, i.user_id`,
    [tenantId, resourceId, schedule.days, schedule.firstReminderDays, schedule.firstReminderDays, userIds],
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return rows.rows.map((r: any) => ({ id: r.id, userId: r.user_id }));
}

/** Cancels the user's open invitation; false when there is none to cancel. */
export async function cancelInvitation(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<{ id: string } | undefined> {
  if (!isUuid(userId)) return undefined;
  const [row] = await q('enrollment_invitations')
    .where({ tenant_id: tenantId, resource_id: resourceId, user_id: userId })
    .whereNull('cancelled_at')
    .update({ cancelled_at: q.fn.now(), next_reminder_at: null, pending_email: null })
    .returning('id');
  return row;
}

/** An email ready to prepare: the invitation still open, the user reachable and not enrolled. */
export interface Sendable {
  invitationId: string;
  tenantId: string;
  resourceId: string;
  userId: string;
  kind: PendingEmail;
  login: string;
  email: string;
  resourceName: string;
  address: string;
  expiresAt: Date;
}

/**
 * Takes the owed emails of these rows (clears `pending_email`, so a second call gets nothing) and
 * returns those still worth sending: open, not expired, user not blocked, with an email, not
 * enrolled, portal still active. Rows locked by a concurrent call are waited for, then skipped.
 */
export async function claimPendingEmails(q: Queryable, invitationIds: string[]): Promise<Sendable[]> {
  const ids = invitationIds.filter(isUuid);
  if (!ids.length) return [];
  const rows = await q.raw(
    `WITH due AS (
        SELECT id, pending_email FROM enrollment_invitations WHERE id = ANY(?::uuid[]) AND pending_email IS NOT NULL FOR UPDATE
     ), taken AS (
        UPDATE enrollment_invitations i SET pending_email = NULL FROM due WHERE i.id = due.id
        RETURNING i.id, i.tenant_id, i.resource_id, i.user_id, i.expires_at, i.cancelled_at, due.pending_email AS kind
     )
     SELECT i.id, i.tenant_id, i.resource_id, i.user_id, i.expires_at, i.kind, u.login, u.email, r.name, r.self_service_address
       FROM taken i
       JOIN users u ON u.id = i.user_id AND u.tenant_id = i.tenant_id
       JOIN resources r ON r.id = i.resource_id AND r.tenant_id = i.tenant_id
      WHERE i.cancelled_at IS NULL AND i.expires_at > now() AND u.blocked_at IS NULL AND u.email IS NOT NULL
        AND r.self_service_address IS NOT NULL AND r.disabled_at IS NULL AND NOT ${ENROLLED_I}`,
    [ids],
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return rows.rows.map((r: any) => ({
    invitationId: r.id, tenantId: r.tenant_id, resourceId: r.resource_id, userId: r.user_id, kind: r.kind,
    login: r.login, email: r.email, resourceName: r.name, address: r.self_service_address, expiresAt: r.expires_at,
  }));
}

/**
 * Ids of rows that still owe an email, oldest first (for the sweep that re-enqueues lost jobs).
 * Invitations sent in the last minute are left to the job their request just enqueued.
 */
export async function listPendingIds(q: Queryable, limit: number): Promise<string[]> {
  const rows = await q('enrollment_invitations')
    .whereNotNull('pending_email')
    .whereNot((w) => w.where('pending_email', 'invitation').andWhere('last_sent_at', '>', q.raw("now() - interval '1 minute'")))
    .orderBy('last_sent_at')
    .limit(limit)
    .select('id');
  return rows.map((r) => r.id);
}

/** Stops scanning rows whose reminder can no longer go out: cancelled, expired, enrolled, or reminders turned off. */
export async function dropDeadReminders(q: Queryable): Promise<number> {
  const result = await q.raw(
    `UPDATE enrollment_invitations i SET next_reminder_at = NULL FROM resources r
      WHERE r.id = i.resource_id AND r.tenant_id = i.tenant_id AND i.next_reminder_at <= now()
        AND (i.cancelled_at IS NOT NULL OR i.expires_at <= now() OR cardinality(r.invitation_reminder_days) = 0 OR ${ENROLLED_I})`,
  );
  return result.rowCount ?? 0;
}

/**
 * Marks up to `limit` due reminders as owed, at most one per row per call: the count moves on and
 * the next reminder is the resource's next day still in the future and before expiry (a sweep that
 * was down sends one reminder for the missed ones, not several). Callers drop dead ones first.
 */
export async function takeDueReminders(q: Queryable, limit: number): Promise<Array<{ id: string; tenantId: string; resourceId: string; userId: string; remindersSent: number }>> {
  const rows = await q.raw(
    `UPDATE enrollment_invitations i
        SET reminders_sent = i.reminders_sent + 1, pending_email = 'reminder',
            next_reminder_at = (SELECT i.last_sent_at + make_interval(days => d) FROM unnest(r.invitation_reminder_days) AS d
                                 WHERE i.last_sent_at + make_interval(days => d) > now() AND i.last_sent_at + make_interval(days => d) < i.expires_at
                                 ORDER BY d LIMIT 1)
       FROM resources r
      WHERE r.id = i.resource_id AND r.tenant_id = i.tenant_id
        AND i.id IN (SELECT id FROM enrollment_invitations
                      WHERE next_reminder_at <= now() AND cancelled_at IS NULL AND expires_at > now()
                      ORDER BY next_reminder_at LIMIT ? FOR UPDATE SKIP LOCKED)
     RETURNING i.id, i.tenant_id, i.resource_id, i.user_id, i.reminders_sent`,
    [limit],
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return rows.rows.map((r: any) => ({ id: r.id, tenantId: r.tenant_id, resourceId: r.resource_id, userId: r.user_id, remindersSent: r.reminders_sent }));
}

export interface InvitationListItem {
  userId: string;
  login: string;
  email: string | null;
  status: InvitationStatus;
  createdAt: Date;
  lastSentAt: Date;
  expiresAt: Date;
  remindersSent: number;
  nextReminderAt: Date | null;
  cancelledAt: Date | null;
}

const STATUS_SQL = `CASE WHEN ${ENROLLED_I} THEN 'enrolled' WHEN i.cancelled_at IS NOT NULL THEN 'cancelled' WHEN i.expires_at <= now() THEN 'expired' ELSE 'invited' END`;

/** The resource's invitations with their status, newest sent first. `userIds` narrows to those users (the console's page). */
export async function listInvitations(q: Queryable, tenantId: string, resourceId: string, page: PageRequest, userIds?: string[]): Promise<{ items: InvitationListItem[]; total: number }> {
  const base = q('enrollment_invitations as i').join('users as u', function joinUser() {
    this.on('u.id', 'i.user_id').andOn('u.tenant_id', 'i.tenant_id');
  }).where({ 'i.tenant_id': tenantId, 'i.resource_id': resourceId });
  if (userIds) base.whereIn('i.user_id', userIds);
  const { rows, total } = await fetchPage(base, page, (b) =>
    b.orderBy([{ column: 'i.last_sent_at', order: 'desc' }, { column: 'u.login' }]).select('i.*', 'u.login', 'u.email', q.raw(`${STATUS_SQL} AS status`)),
  );
  return {
    total,
    items: rows.map((r) => ({
      userId: r.user_id, login: r.login, email: r.email, status: r.status, createdAt: r.created_at, lastSentAt: r.last_sent_at,
      expiresAt: r.expires_at, remindersSent: r.reminders_sent, nextReminderAt: r.next_reminder_at, cancelledAt: r.cancelled_at,
    })),
  };
}

export type UserInvitationState = InvitationStatus | 'not_invited';

/** Each of these assigned users' state in the resource (the console's Users tab column). */
export async function statesOf(q: Queryable, tenantId: string, resourceId: string, userIds: string[]): Promise<Map<string, { state: UserInvitationState; expiresAt: Date | null }>> {
  if (!userIds.length) return new Map();
  const rows = await q.raw(
    `SELECT ru.user_id, i.expires_at,
            CASE WHEN ${ENROLLED_RU} THEN 'enrolled' WHEN i.id IS NULL THEN 'not_invited' WHEN i.cancelled_at IS NOT NULL THEN 'cancelled'
                 WHEN i.expires_at <= now() THEN 'expired' ELSE 'invited' END AS state
       FROM resource_users ru
       LEFT JOIN enrollment_invitations i ON i.tenant_id = ru.tenant_id AND i.resource_id = ru.resource_id AND i.user_id = ru.user_id
      WHERE ru.tenant_id = ? AND ru.resource_id = ? AND ru.user_id = ANY(?::uuid[])`,
    [tenantId, resourceId, userIds],
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return new Map(rows.rows.map((r: any) => [r.user_id, { state: r.state, expiresAt: r.expires_at }]));
}
