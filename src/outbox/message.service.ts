/** Queues outgoing messages: the row is written in the caller's transaction, the job is enqueued after commit. */
import type { Db, Queryable } from '../db/knex';
import type { JobQueue } from '../jobs/queue';
import type { Logger } from '../lib/logger';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { NotFoundError } from '../lib/errors';
import * as repo from './message.repository';
import { requireWholeTenant, type Scope } from '../admins/resource-scope';

export type MessageService = ReturnType<typeof createMessageService>;

export function createMessageService(db: Db, queue: JobQueue, log: Logger) {
  /** Never throws (the message is stored; a request must not fail for its delivery): false if the queue did not take it. */
  async function enqueue(messageId: string): Promise<boolean> {
    try {
      await queue.enqueue('sendMessage', { messageId }, { jobId: `message-${messageId}` });
      return true;
    } catch (err) {
      // The row stays queued; the sweep re-enqueues it once the queue is reachable again.
      log.error({ messageId, err: (err as Error).message }, 'could not enqueue message; the sweep will retry');
      return false;
    }
  }

  return {
    /**
     * Stores a message in `q` (pass the caller's transaction so the message exists only if the change
     * commits) and returns a function that enqueues its delivery; call it after commit.
     */
    async prepare(q: Queryable, tenantId: string | null, message: repo.NewMessage): Promise<{ message: repo.Message; dispatch: () => Promise<void> }> {
      const stored = await repo.insertMessage(q, tenantId, message);
      return { message: stored, dispatch: async () => void (await enqueue(stored.id)) };
    },

    /** Stores and enqueues in one go, outside any other transaction. */
    async send(tenantId: string | null, message: repo.NewMessage): Promise<repo.Message> {
      const { message: stored, dispatch } = await this.prepare(db, tenantId, message);
      await dispatch();
      return stored;
    },

    /**
     * Re-enqueues messages whose job was lost (Redis down at enqueue time, or Redis restarted
     * without persistence), all of them, oldest first, in pages. Deterministic job ids make this
     * harmless for a job that still exists. Stops at the first enqueue that fails (the queue is
     * still unreachable; the next sweep goes on). Returns how many were enqueued.
     */
    async sweep(olderThanMs = 60_000): Promise<number> {
      const before = new Date(Date.now() - olderThanMs);
      let after: repo.QueuedCursor | undefined;
      let enqueued = 0;
      for (;;) {
        const page = await repo.listStaleQueued(db, before, after);
        for (const row of page) {
          if (!(await enqueue(row.id))) return enqueued;
          enqueued++;
        }
        if (page.length < repo.SWEEP_PAGE_SIZE) return enqueued;
        after = page[page.length - 1];
      }
    },

    /** The tenant's messages; tenant-wide, so NotFound for an admin limited to some resources. */
    async list(scope: Scope, page: PageRequest): Promise<Page<repo.Message>> {
      requireWholeTenant(scope, 'Page');
      const { items, total } = await repo.listMessages(db, scope.tenantId, page);
      return toPage(items, total, page);
    },

    async get(scope: Scope, id: string): Promise<repo.Message> {
      requireWholeTenant(scope, 'Message');
      const message = await repo.findMessage(db, scope.tenantId, id);
      if (!message) throw new NotFoundError('Message');
      return message;
    },
  };
}
