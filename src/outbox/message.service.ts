/** Queues outgoing messages: the row is written in the caller's transaction, the job is enqueued after commit. */
import type { Db, Queryable } from '../db/knex';
import type { JobQueue } from '../jobs/queue';
import type { Logger } from '../lib/logger';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { NotFoundError } from '../lib/errors';
import * as repo from './message.repository';

export type MessageService = ReturnType<typeof createMessageService>;

export function createMessageService(db: Db, queue: JobQueue, log: Logger) {
  async function enqueue(messageId: string): Promise<void> {
    try {
      await queue.enqueue('sendMessage', { messageId }, { jobId: `message-${messageId}` });
    } catch (err) {
      // The row stays queued; the sweep re-enqueues it once the queue is reachable again.
      log.error({ messageId, err: (err as Error).message }, 'could not enqueue message; the sweep will retry');
    }
  }

  return {
    /**
     * Stores a message in `q` (pass the caller's transaction so the message exists only if the change
     * commits) and returns a function that enqueues its delivery; call it after commit.
     */
    async prepare(q: Queryable, tenantId: string | null, message: repo.NewMessage): Promise<{ message: repo.Message; dispatch: () => Promise<void> }> {
      const stored = await repo.insertMessage(q, tenantId, message);
      return { message: stored, dispatch: () => enqueue(stored.id) };
    },

    /** Stores and enqueues in one go, outside any other transaction. */
    async send(tenantId: string | null, message: repo.NewMessage): Promise<repo.Message> {
      const { message: stored, dispatch } = await this.prepare(db, tenantId, message);
      await dispatch();
      return stored;
    },

    /** Re-enqueues messages whose job was lost (Redis down at enqueue time). Deterministic job ids make this harmless. */
    async sweep(olderThanMs = 60_000): Promise<number> {
      const ids = await repo.listStaleQueued(db, olderThanMs);
      for (const id of ids) await enqueue(id);
      return ids.length;
    },

    async list(tenantId: string, page: PageRequest): Promise<Page<repo.Message>> {
      const { items, total } = await repo.listMessages(db, tenantId, page);
      return toPage(items, total, page);
    },

    async get(tenantId: string, id: string): Promise<repo.Message> {
      const message = await repo.findMessage(db, tenantId, id);
      if (!message) throw new NotFoundError('Message');
      return message;
    },
  };
}
