/**
 * One interface, two transports. With REDIS_URL: BullMQ queues (jobs survive restarts and are
 * processed by `npm run worker`). Without: the same processors run inside the web process, with
 * the same retry policy, which is the zero-setup development mode.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../lib/logger';
import { JOBS, QUEUES, type JobKey, type JobPayloads, type QueueName } from './job-names';

export type Processor<K extends JobKey> = (payload: JobPayloads[K], attempt: { number: number; final: boolean }) => Promise<void>;
export type Processors = { [K in JobKey]: Processor<K> };

export interface EnqueueOptions {
  /** Deterministic id: enqueueing the same job twice keeps one. */
  jobId: string;
}

export interface JobQueue {
  readonly mode: 'bullmq' | 'in-process';
  enqueue<K extends JobKey>(job: K, payload: JobPayloads[K], options: EnqueueOptions): Promise<void>;
  /** Waiting/active/failed counts per queue, for operators. */
  counts(): Promise<Record<QueueName, Record<string, number>>>;
  /** Lets the in-process transport start processing (the BullMQ transport processes in workers). */
  attachProcessors(processors: Processors): void;
  close(): Promise<void>;
}

const ATTEMPTS = 5;
const BACKOFF_MS = 1000;

function jobKeyByName(name: string): JobKey | undefined {
  return (Object.keys(JOBS) as JobKey[]).find((k) => JOBS[k].name === name);
}

export function createRedis(url: string): Redis {
  // BullMQ requires maxRetriesPerRequest: null for blocking connections.
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

export function createBullQueue(redis: Redis): JobQueue {
  const queues = Object.fromEntries(QUEUES.map((name) => [name, new Queue(name, { connection: redis })])) as Record<QueueName, Queue>;
  return {
    mode: 'bullmq',
    async enqueue(job, payload, { jobId }) {
      const { queue, name } = JOBS[job];
      await queues[queue].add(name, payload, {
        jobId,
        attempts: ATTEMPTS,
        backoff: { type: 'exponential', delay: BACKOFF_MS },
        removeOnComplete: { age: 24 * 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
      });
    },
    async counts() {
      const entries = await Promise.all(
        QUEUES.map(async (name) => [name, await queues[name].getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed')] as const),
      );
      return Object.fromEntries(entries) as Record<QueueName, Record<string, number>>;
    },
    attachProcessors() {
      // Processing happens in `npm run worker` (see startBullWorkers).
    },
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}

/** Runs BullMQ workers for every queue; used by the worker process. */
export function startBullWorkers(redisUrl: string, processors: Processors, log: Logger, concurrency = 5): { close(): Promise<void> } {
  const workers = QUEUES.map(
    (queueName) =>
      new Worker(
        queueName,
        async (job: Job) => {
          const key = jobKeyByName(job.name);
          if (!key) throw new Error(`No processor for job "${job.name}"`);
          const number = job.attemptsMade + 1;
          const processor = processors[key] as Processor<JobKey>;
          await processor(job.data, { number, final: number >= (job.opts.attempts ?? 1) });
        },
        { connection: createRedis(redisUrl), concurrency },
      ),
  );
  for (const worker of workers) {
    worker.on('failed', (job, err) => log.warn({ queue: worker.name, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'));
    worker.on('error', (err) => log.error({ queue: worker.name, err: err.message }, 'worker error'));
  }
  return {
    // Worker.close() waits for jobs in progress to finish: graceful shutdown.
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

/** The in-process transport: same processors and retry policy, no Redis. Jobs in flight finish on close. */
export function createInProcessQueue(log: Logger): JobQueue {
  let processors: Processors | undefined;
  const inFlight = new Set<Promise<void>>();
  const pendingIds = new Set<string>();
  const stats = Object.fromEntries(QUEUES.map((q) => [q, { waiting: 0, active: 0, failed: 0, completed: 0 }])) as unknown as Record<QueueName, Record<string, number>>;
  let closed = false;

  async function run<K extends JobKey>(job: K, payload: JobPayloads[K], jobId: string): Promise<void> {
    const queue = JOBS[job].queue;
    stats[queue].active++;
    try {
      for (let number = 1; number <= ATTEMPTS; number++) {
        try {
          await (processors![job] as Processor<K>)(payload, { number, final: number === ATTEMPTS });
          stats[queue].completed++;
          return;
        } catch (err) {
          log.warn({ job: JOBS[job].name, jobId, attempt: number, err: (err as Error).message }, 'job failed');
          if (number === ATTEMPTS || closed) {
            stats[queue].failed++;
            return;
          }
          await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** (number - 1)));
        }
      }
    } finally {
      stats[queue].active--;
      pendingIds.delete(jobId);
    }
  }

  return {
    mode: 'in-process',
    async enqueue(job, payload, { jobId }) {
      if (closed || pendingIds.has(jobId)) return;
      pendingIds.add(jobId);
      const promise = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (!processors) throw new Error('in-process queue has no processors attached');
        return run(job, payload, jobId);
      });
      inFlight.add(promise);
      promise.catch((err) => log.error({ err: (err as Error).message }, 'in-process job crashed')).finally(() => inFlight.delete(promise));
    },
    async counts() {
      return structuredClone(stats);
    },
    attachProcessors(p) {
      processors = p;
    },
    async close() {
      closed = true;
      await Promise.allSettled([...inFlight]);
    },
  };
}
