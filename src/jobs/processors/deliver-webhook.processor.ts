/**
 * audit queue, job `webhooks.deliver`: one attempt of one webhook delivery. The receiver's answer
 * is recorded in PostgreSQL (never thrown), so the job itself only fails on our own errors; a
 * second run of the same job finds the attempt claimed and does nothing. The attempts in flight
 * per process are bounded by the queue (QUEUE_CONCURRENCY.audit), under both transports.
 */
import type { Processor } from '../queue';
import type { WebhookDeliverer } from '../../webhooks/webhook-deliverer';

export function createDeliverWebhookProcessor(deliverer: WebhookDeliverer): Processor<'deliverWebhook'> {
  return async ({ deliveryId }) => {
    await deliverer.deliver(deliveryId);
  };
}
