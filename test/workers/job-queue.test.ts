/**
 * The queue contract, run against both transports: real BullMQ on Redis (own key prefix per test)
 * and the in-process queue. Same retries with exponential backoff, same final-attempt flag, same
 * jobId dedupe, failures logged, graceful close. Processors are stand-ins so the timing is exact.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createBullQueue, createRedis, startBullWorkers, type BullWorkers } from '../../src/jobs/bull-transport';
import { createInProcessQueue } from '../../src/jobs/in-process-transport';
import { QUEUE_CONCURRENCY } from '../../src/jobs/job-names';
import type { Attempt, JobPolicy, JobQueue, Processors } from '../../src/jobs/queue';
import type { Logger } from '../../src/lib/logger';
import { testRedisUrl } from '../helpers/env';
import { unique } from '../helpers/factories';
import { waitUntil } from '../helpers/wait';
import { deleteQueueKeys } from '../helpers/redis-keys';

interface Harness {
  queue: JobQueue;
  /** Starts processing (BullMQ: workers; in-process: attaches the processors). Stand-ins for the jobs a test uses only. */
  start(processors: Partial<Processors>): void;
  close(): Promise<void>;
}

function bullHarness(log: Logger, policy: JobPolicy, prefix = unique('t')): Harness {
  const redis = createRedis(testRedisUrl());
  const queue = createBullQueue(redis, { prefix, policy });
  let workers: BullWorkers | undefined;
  let closing: Promise<void> | undefined;
  return {
    queue,
    start: (processors) => void (workers = startBullWorkers(testRedisUrl(), processors as Processors, log, { prefix })),
    close: () =>
      (closing ??= (async () => {
        await workers?.close();
        await queue.close();
        await redis.quit();
        await deleteQueueKeys(prefix);
      })()),
  };
}

function inProcessHarness(log: Logger, policy: JobPolicy): Harness {
  const queue = createInProcessQueue(log, policy);
  return { queue, start: (processors) => queue.attachProcessors(processors as Processors), close: () => queue.close() };
}

/** A logger whose warn/error lines the test can read. */
function capturingLogger(): { log: Logger; lines: Array<{ level: number; msg: string; attempt?: number; final?: boolean; jobId?: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

const transports = [
  { name: 'BullMQ transport', make: bullHarness },
  { name: 'in-process transport', make: inProcessHarness },
];

for (const transport of transports) {
  describe(transport.name, () => {
    const open: Harness[] = [];
    const harness = (log: Logger, policy: JobPolicy) => {
      const h = transport.make(log, policy);
      open.push(h);
      return h;
    };
    after(() => Promise.all(open.map((h) => h.close())));

    it('retries a failing job with exponential backoff, flags the final attempt and logs each failure', async () => {
      const { log, lines } = capturingLogger();
      const h = harness(log, { attempts: 3, backoffMs: 150 });
      const runs: Array<Attempt & { at: number }> = [];
      h.start({
        sendMessage: async (_payload, attempt) => {
          runs.push({ ...attempt, at: Date.now() });
          throw new Error('smtp down');
        },
      });
      const jobId = unique('job');
      await h.queue.enqueue('sendMessage', { messageId: 'm1' }, { jobId });
      await waitUntil(() => lines.some((l) => l.msg === 'job failed permanently' && l.jobId === jobId), 10_000, 'the final failure');

      assert.deepEqual(runs.map(({ number, final }) => ({ number, final })), [
        { number: 1, final: false },
        { number: 2, final: false },
        { number: 3, final: true },
      ]);
      // 150 ms then 300 ms between attempts (a little slack for timer granularity).
      assert.ok(runs[1].at - runs[0].at >= 140, `first backoff was ${runs[1].at - runs[0].at} ms`);
      assert.ok(runs[2].at - runs[1].at >= 290, `second backoff was ${runs[2].at - runs[1].at} ms`);
      const failures = lines.filter((l) => l.jobId === jobId);
      assert.deepEqual(failures.map((l) => [l.msg, l.attempt, l.final, l.level]), [
        ['job failed; will retry', 1, false, 40],
        ['job failed; will retry', 2, false, 40],
        ['job failed permanently', 3, true, 50],
      ]);
      assert.equal((await h.queue.counts()).email.failed, 1);
    });

    it('runs a job once for one jobId, and runs a permanently failed job again when it is re-enqueued', async () => {
      const { log } = capturingLogger();
      const h = harness(log, { attempts: 1, backoffMs: 10 });
      const runs: Attempt[] = [];
      let fail = true;
      h.start({
        sendMessage: async (_payload, attempt) => {
          runs.push(attempt);
          if (fail) throw new Error('down');
        },
      });
      const jobId = unique('job');
      await Promise.all([1, 2, 3].map(() => h.queue.enqueue('sendMessage', { messageId: 'm2' }, { jobId })));
      await waitUntil(async () => (await h.queue.counts()).email.failed === 1, 5_000, 'the failed job');
      assert.equal(runs.length, 1);

      // The sweep re-enqueues work that is still pending: the job runs again, attempts counted afresh.
      fail = false;
      await h.queue.enqueue('sendMessage', { messageId: 'm2' }, { jobId });
      await waitUntil(async () => (await h.queue.counts()).email.completed === 1, 5_000, 'the revived job');
      assert.deepEqual(runs, [
        { number: 1, final: true },
        { number: 1, final: true },
      ]);
    });

    it('runs at most QUEUE_CONCURRENCY jobs of a queue at once; the others wait, counted as waiting, and all run', async () => {
      const { log } = capturingLogger();
      const h = harness(log, { attempts: 1, backoffMs: 10 });
      const limit = QUEUE_CONCURRENCY.audit;
      let running = 0;
      let peak = 0;
      let done = 0;
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      h.start({
        deliverWebhook: async () => {
          peak = Math.max(peak, ++running);
          await released;
          running--;
          done++;
        },
      });
      const total = limit + 7;
      await Promise.all(Array.from({ length: total }, (_, i) => h.queue.enqueue('deliverWebhook', { deliveryId: `d${i}` }, { jobId: unique('job') })));
      await waitUntil(async () => running === limit && (await h.queue.counts()).audit.waiting === total - limit, 10_000, `${limit} running and ${total - limit} waiting`);
      assert.equal((await h.queue.counts()).audit.active, limit);
      release();
      await waitUntil(() => done === total, 10_000, 'every job');
      assert.equal(peak, limit);
    });

    it('lets the job in progress finish on close', async () => {
      const { log } = capturingLogger();
      const h = harness(log, { attempts: 2, backoffMs: 10 });
      let started = false;
      let finished = false;
      h.start({
        sendMessage: async () => {
          started = true;
          await new Promise((r) => setTimeout(r, 300));
          finished = true;
        },
      });
      await h.queue.enqueue('sendMessage', { messageId: 'm3' }, { jobId: unique('job') });
      await waitUntil(() => started, 5_000, 'the job to start');
      await h.close();
      assert.equal(finished, true);
    });
  });
}

describe('transport specifics', () => {
  it('BullMQ keeps deployments sharing one Redis apart by prefix: workers never take another prefix’s jobs', async () => {
    const { log } = capturingLogger();
    const policy = { attempts: 1, backoffMs: 10 };
    const a = bullHarness(log, policy);
    const b = bullHarness(log, policy);
    try {
      const seen: string[] = [];
      b.start({ sendMessage: async ({ messageId }) => void seen.push(messageId) });
      await a.queue.enqueue('sendMessage', { messageId: 'for-a' }, { jobId: unique('job') });
      await b.queue.enqueue('sendMessage', { messageId: 'for-b' }, { jobId: unique('job') });
      await waitUntil(() => seen.includes('for-b'), 5_000, 'the job of prefix b');
      assert.deepEqual(seen, ['for-b']);
      assert.equal((await a.queue.counts()).email.waiting, 1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('the in-process transport drops a job waiting for its retry on close, promptly', async () => {
    const { log } = capturingLogger();
    const queue = createInProcessQueue(log, { attempts: 5, backoffMs: 60_000 });
    let runs = 0;
    queue.attachProcessors({
      sendMessage: async () => {
        runs++;
        throw new Error('down');
      },
    } as Partial<Processors> as Processors);
    await queue.enqueue('sendMessage', { messageId: 'm4' }, { jobId: unique('job') });
    await waitUntil(async () => (await queue.counts()).email.delayed === 1, 5_000, 'the backoff');
    const started = Date.now();
    await queue.close();
    assert.ok(Date.now() - started < 5_000, 'close must not wait out the 60 s backoff');
    assert.equal(runs, 1);
  });
});
