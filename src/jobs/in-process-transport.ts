/**
 * The in-process transport (no REDIS_URL): the same processors, retry policy and jobId dedupe as
 * BullMQ, inside the web process. Nothing survives a restart, which is why processors keep their
 * state in the database (a message row stays `queued` until delivered, and the sweep re-enqueues it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../lib/logger';
import { JOBS, QUEUES, type JobKey, type JobPayloads } from './job-names';
import { backoffDelay, DEFAULT_POLICY, logJobFailure, type JobCounts, type JobPolicy, type JobQueue, type Processor, type Processors } from './queue';

export function createInProcessQueue(log: Logger, policy: JobPolicy = DEFAULT_POLICY): JobQueue {
  let processors: Processors | undefined;
  /** Jobs not finished yet, by jobId: a second enqueue of a pending id is a no-op, as in BullMQ. */
  const pending = new Map<string, Promise<void>>();
  const counts = Object.fromEntries(QUEUES.map((q) => [q, { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 }])) as JobCounts;
  // Aborts backoff waits on close: a job waiting for its next attempt is dropped, not finished.
  const closing = new AbortController();

  async function run<K extends JobKey>(job: K, payload: JobPayloads[K], jobId: string): Promise<void> {
    const { queue, name } = JOBS[job];
    counts[queue].waiting++;
    await sleep(0); // return to the caller first, like a real queue
    counts[queue].waiting--;
    for (let number = 1; !closing.signal.aborted; number++) {
      const final = number >= policy.attempts;
      counts[queue].active++;
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
        counts[queue].active--;
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
