/**
 * audit queue, job `webhooks.deliver`: one attempt of one webhook delivery. The receiver's answer
 * is recorded in PostgreSQL (never thrown), so the job itself only fails on our own errors; a
 * second run of the same job finds the attempt claimed and does nothing.
 */
import type { Processor } from '../queue';
import type { WebhookDeliverer } from '../../webhooks/webhook-deliverer';

/**
 * Attempts in flight per process. BullMQ workers already run 5 jobs per queue; the in-process
 * queue runs every job at once, and a burst of events must not open thousands of sockets (and
 * queue on the database pool) inside the web process.
 */
export const MAX_CONCURRENT_ATTEMPTS = 20;

export function createDeliverWebhookProcessor(deliverer: WebhookDeliverer, limit = MAX_CONCURRENT_ATTEMPTS): Processor<'deliverWebhook'> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async ({ deliveryId }) => {
    // A slot is handed straight to the next waiter on release, so the limit is never exceeded.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      await deliverer.deliver(deliveryId);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
