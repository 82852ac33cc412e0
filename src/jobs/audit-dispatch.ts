/**
 * The audit dispatcher (issue 13 §1): every AUDIT_DISPATCH_INTERVAL_MS (1 s) it enqueues an
 * `audit.fan_out` job when events wait to be fanned out, and a `webhooks.deliver` job for each
 * delivery due (new, retry time reached, or a lease left by a killed worker). Polling rather than
 * LISTEN/NOTIFY: writers insert audit rows in many places and bulk statements, and a poll on a
 * partial index costs one cheap query a second while it also recovers anything lost (a job lost
 * with Redis, a worker killed mid-fan-out). It runs where the processors run: the worker process
 * with Redis, the web process without. Several dispatchers are harmless: job ids are deterministic
 * and attempts are claimed in PostgreSQL.
 */
import type { JobQueue } from './queue';
import type { Logger } from '../lib/logger';
import { FAN_OUT_BATCH, type AuditFanOut } from '../audit/audit-fan-out';
import type { WebhookDeliverer } from '../webhooks/webhook-deliverer';

const ENQUEUE_CONCURRENCY = 50;
/** A fan-out job id changes every 10 s, so a finished job kept by BullMQ never hides events left behind. */
const FAN_OUT_ID_WINDOW_MS = 10_000;

export type AuditDispatch = ReturnType<typeof createAuditDispatch>;

export function createAuditDispatch(queue: JobQueue, fanOut: AuditFanOut, deliverer: WebhookDeliverer, log: Logger) {
  /** Enqueues attempts; the job id names the attempt, so a delivery waiting in the queue is not added twice. */
  async function enqueueDeliveries(items: Array<{ id: string; attempts: number }>): Promise<void> {
    for (let i = 0; i < items.length; i += ENQUEUE_CONCURRENCY) {
      await Promise.all(items.slice(i, i + ENQUEUE_CONCURRENCY).map((d) => queue.enqueue('deliverWebhook', { deliveryId: d.id }, { jobId: `webhook-${d.id}-${d.attempts}` })));
    }
  }

  async function enqueueFanOut(): Promise<void> {
    const oldest = await fanOut.oldestPending();
    if (oldest !== undefined) {
      // At the head of the audit queue: a fan-out is one short batch, and waiting behind thousands of
      // webhook attempts would delay every tenant's events and alert emails.
      await queue.enqueue('fanOutAudit', { fromEventId: oldest }, { jobId: `audit-fanout-${oldest}-${Math.floor(Date.now() / FAN_OUT_ID_WINDOW_MS)}`, first: true });
    }
  }

  async function tick(): Promise<void> {
    await enqueueFanOut();
    await enqueueDeliveries(await deliverer.due());
  }

  return {
    enqueueDeliveries,
    tick,
    /**
     * The `audit.fan_out` job: one batch, its first attempts enqueued at once; a full batch chains
     * the next job at once (a backlog drains at full speed, each job stays short).
     */
    async fanOut(): Promise<void> {
      const done = await fanOut.runBatch((ids) => enqueueDeliveries(ids.map((id) => ({ id, attempts: 0 }))));
      if (done.events >= FAN_OUT_BATCH) await enqueueFanOut();
    },
    /** Starts polling; returns the shutdown step that stops it (a tick in progress finishes). */
    start(intervalMs: number): () => Promise<void> {
      let running: Promise<void> | undefined;
      const timer = setInterval(() => {
        if (running) return; // a slow tick (Redis or the database slow) is not stacked
        running = tick()
          .catch((err) => log.warn({ err: (err as Error).message }, 'audit dispatch failed; next tick retries'))
          .finally(() => (running = undefined));
      }, intervalMs);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await running;
      };
    },
  };
}
