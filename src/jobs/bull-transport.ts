/**
 * The BullMQ transport. Producers (web and worker processes) share one Redis connection owned by
 * the composition root; workers get their own, owned and closed by startBullWorkers. Every key is
 * namespaced by QUEUE_PREFIX so deployments and test files sharing a Redis never see each other's jobs.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../lib/logger';
import { withTimeout } from '../lib/timing';
import { JOBS, QUEUE_CONCURRENCY, QUEUES, type JobKey, type QueueName } from './job-names';
import { DEFAULT_POLICY, jobKeyByName, logJobFailure, type JobCounts, type JobPolicy, type JobQueue, type Processor, type Processors } from './queue';

/**
 * How long an enqueue may wait for Redis. Jobs are enqueued after commit while a request waits, and
 * with Redis down or unreachable BullMQ's add() waits for reconnection attempts (10 s and more);
 * past this, the enqueue fails, and the work, already recorded in PostgreSQL, is re-enqueued by the
 * sweeps (jobs/sweeps.ts). An add() that completes late is harmless: job ids are deterministic.
 */
export const ENQUEUE_TIMEOUT_MS = 1_000;

export interface BullOptions {
  prefix: string;
  policy?: JobPolicy;
}

/**
 * The connection for commands (enqueue, counts, readiness ping). Unlike a worker's blocking
 * connection its commands give up after a few reconnection attempts, so with Redis down they fail
 * instead of piling up (the message stays queued for the sweep) and /readyz answers 503. That can
 * still take seconds, so enqueue has its own bound (ENQUEUE_TIMEOUT_MS).
 */
export function createRedis(url: string, log?: Logger): Redis {
  return reportOutages(new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5_000 }), log);
}

/** ioredis reports every failed reconnection; operators need one line when Redis goes away and one when it is back. */
function reportOutages(redis: Redis, log?: Logger): Redis {
  let down = false;
  redis.on('error', (err) => {
    if (!down) log?.error({ err: err.message }, 'Redis unreachable; reconnecting');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log?.info('Redis reachable again');
    down = false;
  });
  return redis;
}

/** Workers block on Redis and must wait out outages: BullMQ requires maxRetriesPerRequest null. */
function createWorkerRedis(url: string, log: Logger): Redis {
  return reportOutages(new Redis(url, { maxRetriesPerRequest: null }), log);
}

export function createBullQueue(redis: Redis, { prefix, policy = DEFAULT_POLICY }: BullOptions): JobQueue {
  const defaultJobOptions = {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs },
    // Bounded retention: enough history for operators, never an ever-growing Redis.
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  };
  const queues = {} as Record<QueueName, Queue>;
  for (const name of QUEUES) {
    // skipWaitingForReady: with Redis down, add() fails at once instead of waiting for a reconnect.
    queues[name] = new Queue(name, { connection: redis, prefix, defaultJobOptions, skipWaitingForReady: true });
    // Connection errors are reported once per outage by the connection itself (reportOutages).
    queues[name].on('error', () => undefined);
  }

  return {
    mode: 'bullmq',
    async enqueue(job, payload, { jobId, first }) {
      const { queue, name } = JOBS[job];
      const add = async () => {
        const added = await queues[queue].add(name, payload, { jobId, ...(first ? { lifo: true } : {}) });
        // A job that used up its attempts keeps its id until retention removes it, so adding it again
        // is a no-op. The caller re-enqueues only work still pending (the sweep), so revive it.
        if (await added.isFailed()) await added.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      };
      await withTimeout(ENQUEUE_TIMEOUT_MS, `enqueueing ${name}`, add());
    },
    async counts() {
      const entries = await Promise.all(
        QUEUES.map(async (name) => [name, await queues[name].getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed')] as const),
      );
      return Object.fromEntries(entries) as JobCounts;
    },
    attachProcessors() {
      // Processing happens in `npm run worker` (see startBullWorkers).
    },
    async close() {
      // The connection is shared, so Queue.close() leaves it open; the composition root quits it.
      await Promise.all(QUEUES.map((name) => queues[name].close()));
    },
  };
}

export interface BullWorkers {
  /** Stops fetching, waits for jobs in progress to finish, then closes the workers' connections. */
  close(): Promise<void>;
}

/**
 * How soon the jobs of a worker that died (killed, out of memory) run again. A running job's lock is
 * renewed every JOB_LOCK_MS / 2 while its worker lives; once the lock has lapsed, the next stalled
 * check of any worker puts the job back in the queue. With BullMQ's defaults (30 s and 30 s) a code
 * sent by email waited up to a minute; with these, about 15 s. Our jobs never block the event loop
 * for seconds, which is what would let a lock lapse under a living worker.
 */
const JOB_LOCK_MS = 10_000;
const STALLED_CHECK_MS = 5_000;

/** Runs a BullMQ worker for every queue; used by the worker process (and the tests). */
export function startBullWorkers(redisUrl: string, processors: Processors, log: Logger, { prefix }: { prefix: string }): BullWorkers {
  const connection = createWorkerRedis(redisUrl, log);
  /** Processor runs in progress, so shutdown can wait for them itself when Redis is gone (see close). */
  const running = new Set<Promise<void>>();
  const run = async (job: Job) => {
    const key = jobKeyByName(job.name);
    // A job name no processor knows will not get better by retrying.
    if (!key) throw new UnrecoverableError(`No processor for job "${job.name}"`);
    // attemptsMade counts finished failed attempts, so this run is number attemptsMade + 1.
    const number = job.attemptsMade + 1;
    const work = (processors[key] as Processor<JobKey>)(job.data, { number, final: number >= (job.opts.attempts ?? 1) });
    const tracked = work.catch(() => undefined);
    running.add(tracked);
    try {
      await work;
    } finally {
      running.delete(tracked);
    }
  };
  const workers = QUEUES.map((name) => {
    // BullMQ shares `connection` for commands and duplicates it for its blocking fetch; it closes the duplicate.
    const worker = new Worker(name, run, { connection, prefix, concurrency: QUEUE_CONCURRENCY[name], lockDuration: JOB_LOCK_MS, stalledInterval: STALLED_CHECK_MS });
    worker.on('failed', (job, err) => {
      // On 'failed', attemptsMade already includes this attempt.
      const attempt = job?.attemptsMade ?? 0;
      const final = err instanceof UnrecoverableError || attempt >= (job?.opts.attempts ?? 1);
      logJobFailure(log, { queue: name, job: job?.name ?? '?', jobId: job?.id, attempt, final, err });
    });
    // Connection errors are reported by reportOutages; others (e.g. a failed lock renewal) here.
    worker.on('error', (err) => {
      if (connection.status === 'ready') log.error({ queue: name, err: err.message }, 'worker error');
    });
    return worker;
  });
  return {
    async close() {
      // Stops fetching and waits for the jobs in progress; needs Redis to acknowledge them.
      const closed = Promise.all(workers.map((w) => w.close())).then(() => 'closed' as const);
      closed.catch(() => undefined);
      const gone = new Promise<'gone'>((resolve) => {
        if (connection.status !== 'ready') resolve('gone');
        else connection.once('close', () => resolve('gone'));
      });
      if ((await Promise.race([closed, gone])) === 'closed') {
        await connection.quit().catch(() => connection.disconnect());
        return;
      }
      // Redis is unreachable (now or while closing): BullMQ's connection waits for it forever,
      // which would hold shutdown until its deadline. The jobs in progress need only PostgreSQL and
      // SMTP: let them finish, then drop the connection. Their BullMQ records are settled by the
      // stalled-job check once Redis is back (each processor is safe to run again).
      await Promise.all(running);
      connection.disconnect();
    },
  };
}
