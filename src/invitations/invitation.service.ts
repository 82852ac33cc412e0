/**
 * Enrolment invitations (issue 12 §3): who may be invited, the 24-hour guard against repeats,
 * resend, cancel, reminders, and an audit event for each. Emails go out after commit through the
 * `invitations.send` job, which prepares them through MessageService.
 */
import type { Db, Queryable } from '../db/knex';
import type { JobQueue } from '../jobs/queue';
import type { Logger } from '../lib/logger';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { parseInput } from '../lib/validation';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { systemActor, type Actor } from '../audit/actor';
import { recordAudit, toAuditRow, type AuditEntry } from '../audit/audit.repository';
import { requireWriter } from '../admins/permissions';
import { requireResourceInScope, type Scope } from '../admins/resource-scope';
import { mustFindResource } from '../resources/resource-lookup';
import type { Resource } from '../resources/resource.types';
import { findConfig } from '../selfservice/self-service.repository';
import { isUuid } from '../db/errors';
import * as repo from './invitation.repository';
import { enqueueInvitationEmails } from './invitation-dispatch';
import { inviteSchema, type InviteResult, type SkipReason } from './invitation.types';

export type InvitationService = ReturnType<typeof createInvitationService>;

const NO_PORTAL = 'This resource has no Self-Service Portal address, so an invitation would have no link. Set one on its Self-Service tab first.';
const SKIP_MESSAGES: Record<SkipReason, string> = {
  not_assigned: 'This user is not assigned to the resource.',
  enrolled: 'This user is already enrolled in the resource.',
  blocked: 'This user is blocked.',
  no_email: 'This user has no email address.',
  invited_recently: 'This user was invited less than 24 hours ago.',
};
/** Rows per multi-row audit insert (11 columns each, well under PostgreSQL's bind limit). */
const AUDIT_CHUNK = 1000;

/** Why a candidate gets no invitation, or undefined when it may get one. */
function skipReason(c: repo.Candidate, force: boolean): SkipReason | undefined {
  if (c.enrolled) return 'enrolled';
  if (c.blocked) return 'blocked';
  if (!c.email) return 'no_email';
  if (!force && c.invitedRecently) return 'invited_recently';
  return undefined;
}

/** The first reminder day that falls before expiry (later ones are computed by the sweep). */
function scheduleOf(resource: Resource): repo.Schedule {
  const first = resource.invitationReminderDays.find((d) => d < resource.invitationDays);
  return { days: resource.invitationDays, firstReminderDays: first ?? null };
}

async function auditMany(q: Queryable, actor: Actor, entries: AuditEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += AUDIT_CHUNK) {
    await q('audit_events').insert(entries.slice(i, i + AUDIT_CHUNK).map((e) => toAuditRow(actor, e)));
  }
}

export function createInvitationService(db: Db, queue: JobQueue, log: Logger) {
  /** The resource, refusing one whose portal has no address (the email would have no link). */
  async function invitableResource(q: Queryable, actor: Actor, resourceId: string): Promise<Resource> {
    const tenantId = actor.tenantId;
    const resource = await mustFindResource(q, actor, resourceId);
    const config = await findConfig(q, tenantId, resourceId);
    if (!config?.address || resource.disabled) throw new ValidationError({ resource: NO_PORTAL }, NO_PORTAL);
    return resource;
  }

  const entry = (action: string, resourceId: string, userId: string, details: Record<string, unknown> = {}): AuditEntry =>
    ({ action, targetType: 'user', targetId: userId, resourceId, details });

  return {
    /**
     * Invites the given users (or every assigned user not enrolled) to enrol in the resource.
     * Tenant-scoped: ids of other tenants are reported as not_assigned. Idempotent for 24 h.
     */
    async invite(actor: Actor, resourceId: string, input: unknown): Promise<InviteResult> {
      requireWriter(actor);
      const parsed = parseInput(inviteSchema(input), input);
      const { result, ids } = await db.transaction(async (trx) => {
        const resource = await invitableResource(trx, actor, resourceId);
        const wanted = 'userIds' in parsed ? [...new Set(parsed.userIds)] : null;
        const candidates = await repo.findCandidates(trx, actor.tenantId, resource.id, wanted);
        const skipped: InviteResult['skipped'] = [];
        const eligible: string[] = [];
        const found = new Set(candidates.map((c) => c.userId));
        for (const id of wanted ?? []) if (!found.has(id)) skipped.push({ userId: id, reason: 'not_assigned' });
        for (const c of candidates) {
          const reason = skipReason(c, false);
          if (reason) skipped.push({ userId: c.userId, reason });
          else eligible.push(c.userId);
        }
        const opened = await repo.openInvitations(trx, actor.tenantId, resource.id, eligible, scheduleOf(resource));
        // A concurrent request (a double click) may have invited some of them a moment ago.
        const openedUsers = new Set(opened.map((o) => o.userId));
        for (const id of eligible) if (!openedUsers.has(id)) skipped.push({ userId: id, reason: 'invited_recently' });
        const details = { expiresInDays: resource.invitationDays, ...(wanted ? {} : { filter: 'not_enrolled' }) };
        await auditMany(trx, actor, opened.map((o) => entry('invitation.create', resource.id, o.userId, details)));
        return { result: { invited: opened.length, skipped }, ids: opened.map((o) => o.id) };
      });
      await enqueueInvitationEmails(queue, log, ids);
      return result;
    },

    /** Sends the user's invitation again now, with a fresh expiry and reminder schedule (no 24 h guard: the admin asked). */
    async resend(actor: Actor, resourceId: string, userId: string): Promise<void> {
      requireWriter(actor);
      const ids = await db.transaction(async (trx) => {
        const resource = await invitableResource(trx, actor, resourceId);
        const [candidate] = await repo.findCandidates(trx, actor.tenantId, resource.id, isUuid(userId) ? [userId] : []);
        if (!candidate?.hasInvitation) throw new NotFoundError('Invitation');
        const reason = skipReason(candidate, true);
        if (reason) throw new ConflictError(SKIP_MESSAGES[reason]);
        const opened = await repo.openInvitations(trx, actor.tenantId, resource.id, [candidate.userId], scheduleOf(resource), true);
        await recordAudit(trx, actor, entry('invitation.resend', resource.id, candidate.userId, { expiresInDays: resource.invitationDays }));
        return opened.map((o) => o.id);
      });
      await enqueueInvitationEmails(queue, log, ids);
    },

    /** Cancels the user's open invitation (no more reminders; the link itself is only the portal). Idempotent. */
    async cancel(actor: Actor, resourceId: string, userId: string): Promise<void> {
      requireWriter(actor);
      await db.transaction(async (trx) => {
        const resource = await mustFindResource(trx, actor, resourceId);
        const cancelled = await repo.cancelInvitation(trx, actor.tenantId, resource.id, userId);
        if (cancelled) return recordAudit(trx, actor, entry('invitation.cancel', resource.id, userId));
        const { total } = await repo.listInvitations(trx, actor.tenantId, resource.id, { page: 1, perPage: 1 }, isUuid(userId) ? [userId] : []);
        if (!total) throw new NotFoundError('Invitation');
      });
    },

    /** Per-user state for a page of assigned users (tenant-scoped; other ids are absent). */
    async statesOf(scope: Scope, resourceId: string, userIds: string[]) {
      requireResourceInScope(scope, resourceId);
      return repo.statesOf(db, scope.tenantId, resourceId, userIds.filter(isUuid));
    },

    async list(scope: Scope, resourceId: string, page: PageRequest, userIds?: string[]): Promise<Page<repo.InvitationListItem>> {
      const tenantId = scope.tenantId;
      const resource = await mustFindResource(db, scope, resourceId);
      const { items, total } = await repo.listInvitations(db, tenantId, resource.id, page, userIds);
      return toPage(items, total, page);
    },

    /**
     * The reminder sweep: marks due reminders (one per invitation per run, none for the enrolled,
     * cancelled or expired), audits each in the same transaction, then enqueues the emails.
     * Also re-enqueues emails whose job was lost. Returns how many reminders it marked.
     */
    async sweep(batch = 1000): Promise<number> {
      let marked = 0;
      await repo.dropDeadReminders(db);
      for (;;) {
        const taken = await db.transaction(async (trx) => {
          const rows = await repo.takeDueReminders(trx, batch);
          for (const r of rows) await recordAudit(trx, systemActor(r.tenantId, 'invitation reminders'), entry('invitation.reminder', r.resourceId, r.userId, { reminder: r.remindersSent }));
          return rows;
        });
        marked += taken.length;
        if (taken.length < batch) break;
      }
      // Everything still owed (just marked, or a lost job): claiming is atomic, so repeats are harmless.
      await enqueueInvitationEmails(queue, log, await repo.listPendingIds(db, 100_000));
      return marked;
    },
  };
}
