/**
 * provisioning queue, job `invitations.send`: prepares one email per invitation of the batch that
 * still owes one (invitation or reminder), in one transaction, then hands them to the `email`
 * queue. Safe to run twice: the rows' owed email is claimed in that transaction, so a second
 * delivery finds nothing to send.
 */
import type { Db } from '../../db/knex';
import type { Logger } from '../../lib/logger';
import type { MessageService } from '../../outbox/message.service';
import { claimPendingEmails } from '../../invitations/invitation.repository';
import { invitationEmail } from '../../invitations/invitation-email';
import type { Processor } from '../queue';

/** Enqueues this many deliveries at a time (BullMQ round trips overlap, memory stays bounded). */
const DISPATCH_CONCURRENCY = 50;

export function createSendInvitationsProcessor(db: Db, messages: MessageService, portalUrl: (address: string) => string, log: Logger): Processor<'sendInvitations'> {
  return async ({ invitationIds }) => {
    const started = Date.now();
    const dispatches = await db.transaction(async (trx) => {
      const due = await claimPendingEmails(trx, invitationIds);
      const out: Array<() => Promise<void>> = [];
      for (const s of due) out.push((await messages.prepare(trx, s.tenantId, invitationEmail(s, portalUrl(s.address)))).dispatch);
      return out;
    });
    for (let i = 0; i < dispatches.length; i += DISPATCH_CONCURRENCY) {
      await Promise.all(dispatches.slice(i, i + DISPATCH_CONCURRENCY).map((d) => d()));
    }
    log.info({ batch: invitationIds.length, emails: dispatches.length, ms: Date.now() - started }, 'invitation emails queued');
  };
}
