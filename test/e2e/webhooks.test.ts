/**
 * Webhooks and alerts in a real browser, on a phone-sized screen: the owner adds an endpoint for
 * a local receiver (fields found by their labels), copies the secret shown once, an event is
 * delivered and signed, the deliveries table shows it; then the owner chooses alert emails. No
 * CSP violation, no script error, no sideways scroll.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PHONE_VIEWPORT, assertClean, assertNoHorizontalScroll, screenshot, stepper, useBrowser, signInToConsole } from '../helpers/browser';
import { createResource, createTenant } from '../helpers/factories';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from '../helpers/webhook-receiver';
import { waitUntil } from '../helpers/wait';
import { createOwnDatabase, type OwnDatabase } from '../helpers/fault-servers';

const step = stepper('webhooks-');

describe('webhooks and alerts in a real browser', () => {
  // A database of its own (created before useBrowser's hook builds the app): the dispatcher reads
  // every event and due delivery it finds, which must not include other files'.
  const env: Record<string, string | undefined> = {};
  let database: OwnDatabase | undefined;
  before(async () => {
    database = await createOwnDatabase('hooks_e2e');
    env.DATABASE_URL = database.url;
  });
  const b = useBrowser(env);
  let receiver: WebhookReceiver | undefined;
  let stop: (() => Promise<void>) | undefined;
  after(async () => {
    await stop?.();
    await receiver?.close();
  });
  // Registered after useBrowser's: runs once its app and database connections are closed.
  after(async () => {
    await database?.drop();
  });

  it('adds an endpoint on a phone, sees the secret once and a signed delivery, and chooses alerts', { timeout: 90_000 }, async () => {
    receiver = await startWebhookReceiver();
    stop = b.ctx.services.auditDispatch.start(50);
    const owner = await createTenant(b.ctx.services);
    const watched = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
    const { page } = watched;

    await step(page, 'sign-in', async () => {
      await signInToConsole(page, owner);
    });

    const secret = await step(page, 'add endpoint', async () => {
      await page.goto('/admin/webhooks');
      await page.getByLabel('URL').fill(`${receiver!.url}/mfa`);
      await page.getByLabel('Description (optional)').fill('Phone test');
      await page.getByLabel(/Only the types ticked below/).check();
      await page.getByText(/Event types \(the audit log's actions\)/).click();
      await page.getByLabel('resource.create').check();
      await assertNoHorizontalScroll(page, 'the webhooks page');
      await screenshot(page, 'webhooks-01-add-phone');
      const add = page.getByRole('button', { name: 'Add endpoint' });
      await add.click();
      await page.waitForURL(/\/admin\/webhooks\/[0-9a-f-]{36}$/);
      const shown = (await page.locator('#new-webhook-secret').textContent())!.trim();
      assert.match(shown, /^whsec_/);
      await screenshot(page, 'webhooks-02-secret-phone');
      return shown;
    });

    await step(page, 'delivery', async () => {
      const resource = await createResource(b.ctx.services, owner);
      const hook = await waitUntil(() => receiver!.received.find((h) => h.json.type === 'resource.create'), 15_000, 'the delivery');
      assert.equal((hook.json.data.target as { id: string }).id, resource.id);
      assert.ok(verifySignature(secret, hook), 'signed with the secret the page showed');
      await waitUntil(async () => (await b.ctx.services.db('webhook_deliveries').where({ id: hook.id }).first())?.status === 'delivered', 5_000, 'delivered');
      await page.reload();
      assert.equal(await page.locator('#new-webhook-secret').count(), 0, 'the secret is not shown again');
      await page.getByRole('cell', { name: 'delivered' }).waitFor();
      await assertNoHorizontalScroll(page, 'the endpoint page');
      await screenshot(page, 'webhooks-03-deliveries-phone');
    });

    await step(page, 'alerts', async () => {
      await page.goto('/admin/alerts');
      await page.getByLabel('A user is locked out').check();
      await page.getByLabel('An API key was created or revoked').check();
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Alerts saved').waitFor();
      await page.getByRole('cell', { name: 'A user is locked out; An API key was created or revoked' }).waitFor();
      await assertNoHorizontalScroll(page, 'the alerts page');
      await screenshot(page, 'webhooks-04-alerts-phone');
    });
    assertClean(watched, 'webhooks and alerts pages');
  });
});
