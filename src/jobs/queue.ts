/**
 * One interface, two transports. With REDIS_URL: BullMQ queues (jobs survive restarts and are
 * processed by `npm run worker`), see bull-transport.ts. Without: the same processors run inside
 * the web process with the same retry policy (in-process-transport.ts), the zero-setup mode.
 */
import type { Logger } from '../lib/logger';
import { JOBS, type JobKey, type JobPayloads, type QueueName } from './job-names';

export interface Attempt {
  /** 1 for the first run. */
  number: number;
  /** No retry follows if this attempt fails: the processor records a permanent failure. */
  final: boolean;
}

export type Processor<K extends JobKey> = (payload: JobPayloads[K], attempt: Attempt) => Promise<void>;
export type Processors = { [K in JobKey]: Processor<K> };

export interface EnqueueOptions {
  /** Deterministic id: enqueueing the same job while it is pending keeps one. */
  jobId: string;
  /** Put the job at the head of its queue (BullMQ LIFO): short work that must not wait behind a backlog. */
  first?: boolean;
}

export type JobCounts = Record<QueueName, Record<'waiting' | 'active' | 'delayed' | 'failed' | 'completed', number>>;

export interface JobQueue {
  readonly mode: 'bullmq' | 'in-process';
  enqueue<K extends JobKey>(job: K, payload: JobPayloads[K], options: EnqueueOptions): Promise<void>;
  /** Job counts per queue and state, for operators. */
  counts(): Promise<JobCounts>;
  /** Lets the in-process transport start processing (the BullMQ transport processes in workers). */
  attachProcessors(processors: Processors): void;
  close(): Promise<void>;
}

/** Retry policy shared by both transports: `attempts` runs, waiting backoffMs, 2x, 4x... between them. */
export interface JobPolicy {
  attempts: number;
  backoffMs: number;
}

export const DEFAULT_POLICY: JobPolicy = { attempts: 5, backoffMs: 1000 };

/** Same formula as BullMQ's built-in 'exponential' backoff, so both transports wait alike. */
export function backoffDelay(policy: JobPolicy, failedAttempts: number): number {
  return policy.backoffMs * 2 ** (failedAttempts - 1);
}

export function jobKeyByName(name: string): JobKey | undefined {
  return (Object.keys(JOBS) as JobKey[]).find((k) => JOBS[k].name === name);
}

/** A failed attempt is a warning while retries remain, an error once the job is given up. */
export function logJobFailure(log: Logger, fields: { queue: string; job: string; jobId?: string; attempt: number; final: boolean; err: unknown }): void {
  const { err, ...rest } = fields;
  const entry = { ...rest, err: err instanceof Error ? err.message : String(err) };
  if (fields.final) log.error(entry, 'job failed permanently');
  else log.warn(entry, 'job failed; will retry');
}
