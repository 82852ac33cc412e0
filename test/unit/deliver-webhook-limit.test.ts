/** The per-process cap on webhook attempts in flight (the in-process queue runs every job at once). */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createDeliverWebhookProcessor } from '../../src/jobs/processors/deliver-webhook.processor';
import type { WebhookDeliverer } from '../../src/webhooks/webhook-deliverer';

it('runs at most `limit` attempts at once and every one eventually', async () => {
  let now = 0;
  let peak = 0;
  const done: string[] = [];
  const deliverer = {
    async deliver(id: string) {
      peak = Math.max(peak, ++now);
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      now--;
      done.push(id);
      return 'delivered' as const;
    },
  } as unknown as WebhookDeliverer;
  const processor = createDeliverWebhookProcessor(deliverer, 3);
  await Promise.all(Array.from({ length: 40 }, (_, i) => processor({ deliveryId: String(i) }, { number: 1, final: false })));
  assert.equal(peak, 3);
  assert.equal(done.length, 40);
});
