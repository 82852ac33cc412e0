/** email queue, job `message.send`: delivers one stored message. Safe to run twice for the same id. */
import type { Db } from '../../db/knex';
import type { Logger } from '../../lib/logger';
import type { Mailer } from '../../mail/mailer';
import * as messages from '../../outbox/message.repository';
import type { Metrics } from '../../metrics/metrics';
import type { Processor } from '../queue';

export function createSendMessageProcessor(db: Db, mailer: Mailer, log: Logger, metrics?: Metrics): Processor<'sendMessage'> {
  return async ({ messageId }, attempt) => {
    const message = await messages.findMessageForDelivery(db, messageId);
    // Already delivered (a retried or duplicated job) or deleted with its tenant: nothing to do.
    if (!message || message.status !== 'queued') return;
    try {
      const outcome = await mailer.deliver(message);
      await messages.markDelivered(db, messageId, outcome);
      metrics?.messageDelivery.observe({ channel: message.channel }, (Date.now() - message.createdAt.getTime()) / 1000);
    } catch (err) {
      await messages.recordAttemptFailure(db, messageId, (err as Error).message, attempt.final);
      log.warn({ messageId, attempt: attempt.number, err: (err as Error).message }, 'message delivery failed');
      throw err;
    }
  };
}
