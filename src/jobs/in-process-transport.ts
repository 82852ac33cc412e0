/**
 * The in-process transport (no REDIS_URL): the same processors, retry policy, jobId dedupe and
 * jobs at a time per queue (QUEUE_CONCURRENCY) as BullMQ, inside the web process. Nothing survives
 * a restart, which is why processors keep their state in the database (a message row stays
 * `queued` until delivered, and the sweep re-enqueues it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../lib/logger';
import { JOBS, QUEUE_CONCURRENCY, QUEUES, type JobKey, type JobPayloads, type QueueName } from './job-names';
import { backoffDelay, DEFAULT_POLICY, logJobFailure, type JobCounts, type JobPolicy, type JobQueue, type Processor, type Processors } from './queue';

export function createInProcessQueue(log: Logger, policy: JobPolicy = DEFAULT_POLICY): JobQueue {
  let processors: Processors | undefined;
  /** Jobs not finished yet, by jobId: a second enqueue of a pending id is a no-op, as in BullMQ. */
  const pending = new Map<string, Promise<void>>();
  const counts = Object.fromEntries(QUEUES.map((q) => [q, { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 }])) as JobCounts;
  // Aborts backoff and slot waits on close: a job waiting for its next attempt or a slot is dropped, not finished.
  const closing = new AbortController();
  const waitingForSlot = Object.fromEntries(QUEUES.map((q) => [q, [] as Array<() => void>])) as Record<QueueName, Array<() => void>>;
  closing.signal.addEventListener('abort', () => QUEUES.forEach((q) => waitingForSlot[q].splice(0).forEach((wake) => wake())));

  /**
   * Waits until the queue runs fewer jobs than its concurrency, then counts this one active (in
   * the same tick, so two waiters cannot both take the last slot); false when the queue closed.
   */
  async function takeSlot(queue: QueueName): Promise<boolean> {
    while (counts[queue].active >= QUEUE_CONCURRENCY[queue]) {
      if (closing.signal.aborted) return false;
      await new Promise<void>((wake) => waitingForSlot[queue].push(wake));
    }
    if (closing.signal.aborted) return false;
    counts[queue].active++;
    return true;
  }

  function releaseSlot(queue: QueueName): void {
    counts[queue].active--;
    waitingForSlot[queue].shift()?.();
  }

  async function run<K extends JobKey>(job: K, payload: JobPayloads[K], jobId: string): Promise<void> {
    const { queue, name } = JOBS[job];
    for (let number = 1; ; number++) {
      counts[queue].waiting++;
      if (number === 1) await sleep(0); // return to the caller first, like a real queue
      const started = await takeSlot(queue);
      counts[queue].waiting--;
      if (!started) return;
      const final = number >= policy.attempts;
      try {
        if (!processors) throw new Error('in-process queue has no processors attached');
        await (processors[job] as Processor<K>)(payload, { number, final });
        counts[queue].completed++;
        return;
      } catch (err) {
        logJobFailure(log, { queue, job: name, jobId, attempt: number, final, err });
        if (final) {
          counts[queue].failed++;
          return;
        }
      } finally {
        releaseSlot(queue);
      }
      counts[queue].delayed++;
      await sleep(backoffDelay(policy, number), undefined, { signal: closing.signal }).catch(() => undefined);
      counts[queue].delayed--;
    }
  }

  return {
    mode: 'in-process',
    async enqueue(job, payload, { jobId }) {
      if (closing.signal.aborted || pending.has(jobId)) return;
      const promise = run(job, payload, jobId)
        .catch((err) => log.error({ jobId, err: (err as Error).message }, 'in-process job crashed'))
        .finally(() => pending.delete(jobId));
      pending.set(jobId, promise);
    },
    async counts() {
      return structuredClone(counts);
    },
    attachProcessors(p) {
      processors = p;
    },
    /** Jobs running now finish (graceful shutdown); jobs waiting for a retry are dropped. */
    async close() {
      closing.abort();
      await Promise.all(pending.values());
    },
  };
}
