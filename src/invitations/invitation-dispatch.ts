/**
 * Enqueues `invitations.send` jobs for rows that owe an email, in batches: 10 000 invitations are
 * 10 jobs, and each job prepares its 1000 messages in one transaction.
 */
import { randomUUID } from 'node:crypto';
import type { JobQueue } from '../jobs/queue';
import type { Logger } from '../lib/logger';

export const INVITATION_BATCH_SIZE = 1000;

/**
 * Never throws: the rows keep `pending_email`, and the sweep enqueues them again once the queue is
 * reachable. The job id is unique per call (a resend of the same user later must not be mistaken
 * for a finished job); a duplicate job is harmless because the processor claims rows atomically.
 */
export async function enqueueInvitationEmails(queue: JobQueue, log: Logger, invitationIds: string[]): Promise<void> {
  for (let i = 0; i < invitationIds.length; i += INVITATION_BATCH_SIZE) {
    const batch = invitationIds.slice(i, i + INVITATION_BATCH_SIZE);
    try {
      await queue.enqueue('sendInvitations', { invitationIds: batch }, { jobId: `invitations-${randomUUID()}` });
    } catch (err) {
      log.error({ count: batch.length, err: (err as Error).message }, 'could not enqueue invitation emails; the sweep will retry');
      return;
    }
  }
}
