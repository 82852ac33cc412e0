/**
 * The service's Prometheus metrics (issue 13 §4). One Metrics per process, built by the composition
 * root; the web process serves it at /metrics, the worker on WORKER_METRICS_PORT. Label values are
 * always from small fixed sets (route templates, never raw URLs), so the series count stays bounded.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { withTimeout } from '../lib/timing';
import type { JobQueue } from '../jobs/queue';

/** A scrape never waits longer than this for Redis: an outage shows as missing queue samples, not a hung /metrics. */
export const QUEUE_COUNTS_TIMEOUT_MS = 500;
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  authentications: Counter<'result'>;
  jobs: Counter<'queue' | 'name' | 'result'>;
  messageDelivery: Histogram<'channel'>;
  /** Webhooks: call `metrics.webhookDeliveries.inc({ result })` once per delivery attempt (results: DeliveryResult of webhooks/webhook-deliverer.ts). */
  webhookDeliveries: Counter<'result'>;
}

export function createMetrics(queue?: JobQueue): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, Express route template and status class (2xx, 4xx...)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const authentications = new Counter({
    name: 'mfa_authentications_total',
    help: 'Checks answered by the validation API: success (result true), failure (result false), challenge (a code is needed next)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'mfa_jobs_total',
    help: 'Job attempts run by this process, by queue, job name and result',
    labelNames: ['queue', 'name', 'result'] as const,
    registers: [registry],
  });
  const messageDelivery = new Histogram({
    name: 'mfa_message_delivery_seconds',
    help: 'Time from a message being stored (queued) to its hand-over to SMTP, the SMS webhook or the Outbox',
    labelNames: ['channel'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const webhookDeliveries = new Counter({
    name: 'mfa_webhook_deliveries_total',
    help: 'Webhook delivery attempts by result (delivered, failed, dead)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  if (queue) registerQueueGauge(registry, queue);
  return { registry, httpDuration, authentications, jobs, messageDelivery, webhookDeliveries };
}

/** Read at scrape time from BullMQ (or the in-process queue's own counts), bounded in time. */
function registerQueueGauge(registry: Registry, queue: JobQueue): void {
  new Gauge({
    name: 'mfa_queue_jobs',
    help: `Jobs per queue and state, read at scrape time (no samples when the queue store does not answer within ${QUEUE_COUNTS_TIMEOUT_MS} ms)`,
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await withTimeout(QUEUE_COUNTS_TIMEOUT_MS, 'queue counts', queue.counts()).catch(() => undefined);
      if (!counts) return;
      for (const [name, states] of Object.entries(counts)) {
        for (const state of QUEUE_STATES) this.set({ queue: name, state }, states[state]);
      }
    },
  });
}
