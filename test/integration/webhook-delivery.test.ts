/**
 * Webhook delivery end to end (issue 13 §1): real PostgreSQL, the in-process audit queue, and a
 * real HTTP receiver on a local port that checks signatures with its own HMAC. The retry schedule
 * is shortened to milliseconds through configuration; the 5-day rule's time is injected on the endpoint's row.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { lookup } from 'node:dns/promises';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createUser, createResource, type TestTenant } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { startWebhookReceiver, verifySignature, type ReceivedHook, type WebhookReceiver } from '../helpers/webhook-receiver';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { waitUntil } from '../helpers/wait';
import { createOwnDatabase, type OwnDatabase } from '../helpers/fault-servers';
import { createWebhookDeliverer, type DeliveryResult } from '../../src/webhooks/webhook-deliverer';
import { isForbiddenAddress } from '../../src/webhooks/address-policy';
import { recordAudit } from '../../src/audit/audit.repository';
import { sendWebhook } from '../../src/webhooks/webhook-sender';

const SCHEDULE = [40, 40, 40];

describe('webhooks: delivery to a local receiver', () => {
  let ctx: TestContext;
  let sink: SmtpSink;
  let stopDispatch: () => Promise<void>;
  const results: DeliveryResult[] = [];
  const receivers: WebhookReceiver[] = [];

  let database: OwnDatabase;

  before(async () => {
    // A database of its own: the dispatcher fans out every event and attempts every due delivery it
    // finds, so another file's dispatcher on a shared database would take some of this file's.
    database = await createOwnDatabase('hooks_delivery');
    sink = await startSmtpSink();
    ctx = await createTestContext(
      { DATABASE_URL: database.url, SMTP_URL: sink.url, WEBHOOK_RETRY_SCHEDULE_MS: SCHEDULE.join(','), WEBHOOK_TIMEOUT_MS: '400' },
      { webhooks: { onDeliveryResult: (r) => results.push(r) } },
    );
    stopDispatch = ctx.services.auditDispatch.start(25);
  });
  after(async () => {
    await stopDispatch();
    await ctx.close();
    for (const r of receivers) await r.close();
    await sink.close();
    await database.drop();
  });

  async function receiver(respond?: Parameters<typeof startWebhookReceiver>[0]): Promise<WebhookReceiver> {
    const r = await startWebhookReceiver(respond);
    receivers.push(r);
    return r;
  }

  async function endpoint(t: TestTenant, url: string, events: string[] = ['*']): Promise<{ id: string; secret: string }> {
    const res = await apiClient(ctx.app, t.apiKey).post('/webhooks', { url, events });
    assert.equal(res.status, 201, res.text);
    return res.body;
  }

  const hookFor = (r: WebhookReceiver, pred: (h: ReceivedHook) => boolean, what: string, ms = 10_000) => waitUntil(() => r.received.find(pred), ms, what);

  it('signs each event as Standard Webhooks says: headers, {type, timestamp, data} body, HMAC checked independently; 2xx = delivered', async () => {
    const t = await createTenant(ctx.services);
    const r = await receiver();
    const ep = await endpoint(t, `${r.url}/in`);
    const user = await createUser(ctx.services, t);
    const hook = await hookFor(r, (h) => h.json.type === 'user.create' && (h.json.data.target as { id: string })?.id === user.id, 'the user.create webhook');
    assert.equal(hook.path, '/in');
    assert.ok(verifySignature(ep.secret, hook), 'signature verifies with the secret shown at creation');
    assert.ok(!verifySignature(ep.secret, { ...hook, body: hook.body.replace(user.id, 'x') }), 'a changed body does not verify');
    assert.match(hook.signature, /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.ok(Math.abs(Number(hook.timestamp) - Date.now() / 1000) < 30);
    assert.equal(Object.keys(hook.json).sort().join(), 'data,timestamp,type');
    assert.equal((hook.json.data.actor as { type: string }).type, 'admin');
    const delivery = await waitUntil(() => ctx.services.db('webhook_deliveries').where({ id: hook.id, status: 'delivered' }).first(), 5_000, 'delivered status');
    assert.equal(delivery.endpoint_id, ep.id);
    assert.equal(delivery.attempts, 1);
    assert.equal(delivery.last_status_code, 204);
    assert.ok(results.includes('delivered'));
    const events = await ctx.services.db('audit_events').where({ tenant_id: t.tenantId }).whereNull('fanned_out_at');
    assert.equal(events.length, 0, 'every event of the tenant is fanned out');
  });

  it('event filters and tenant isolation: an endpoint gets only its types, and never another tenant\'s events', async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const ra = await receiver();
    const rb = await receiver();
    const epA = await endpoint(a, ra.url, ['resource.create']);
    await endpoint(b, rb.url, ['*']);
    await createUser(ctx.services, a);
    const resource = await createResource(ctx.services, a);
    await hookFor(ra, (h) => h.json.type === 'resource.create' && (h.json.data.target as { id: string }).id === resource.id, 'resource.create');
    await waitUntil(async () => (await ctx.services.db('audit_events').where({ tenant_id: a.tenantId }).whereNull('fanned_out_at')).length === 0, 5_000, 'fan-out of tenant A');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual([...new Set(ra.received.map((h) => h.json.type))], ['resource.create']);
    const rows = await ctx.services.db('webhook_deliveries').where({ endpoint_id: epA.id });
    assert.deepEqual(rows.map((d) => d.event_type), ['resource.create']);
    assert.ok(!rb.received.some((h) => h.body.includes(a.tenantId) || h.body.includes(resource.id)), 'tenant B\'s receiver saw nothing of tenant A');
    assert.equal((await ctx.services.db('webhook_deliveries').where({ tenant_id: b.tenantId }).whereIn('event_id', ctx.services.db('audit_events').where({ tenant_id: a.tenantId }).select('id'))).length, 0);
  });

  it('non-2xx is retried on the schedule with the same webhook-id, then delivered; the API shows the attempts', async () => {
    const t = await createTenant(ctx.services);
    let calls = 0;
    const r = await receiver(() => ({ status: ++calls <= 2 ? 500 : 200 }));
    const ep = await endpoint(t, r.url, ['user.create']);
    await createUser(ctx.services, t);
    await waitUntil(() => r.received.length >= 3, 10_000, 'three attempts');
    const ids = new Set(r.received.map((h) => h.id));
    assert.equal(ids.size, 1, 'webhook-id is stable across retries');
    for (const h of r.received) assert.ok(verifySignature(ep.secret, h));
    assert.ok(r.received[1].at - r.received[0].at >= SCHEDULE[0], 'waited before retrying');
    const list = await waitUntil(async () => {
      const res = await apiClient(ctx.app, t.apiKey).get(`/webhooks/${ep.id}/deliveries`);
      return res.body.items[0]?.status === 'delivered' ? res.body : undefined;
    }, 5_000, 'delivered in the API');
    assert.equal(list.items[0].attempts, 3);
    assert.equal(list.items[0].lastStatusCode, 200);
    assert.equal(list.items[0].lastError, null);
    assert.equal(list.items[0].nextAttemptAt, null);
    assert.equal(list.items[0].id, [...ids][0]);
  });

  it('a timeout, a redirect and a 4xx are failures; after the schedule the delivery is dead (failed); an owner redelivers it, same webhook-id', async () => {
    const t = await createTenant(ctx.services);
    let mode: 'fail' | 'ok' = 'fail';
    let n = 0;
    const r = await receiver(() => {
      if (mode === 'ok') return { status: 200 };
      n++;
      if (n === 1) return { status: 200, delayMs: 1_500 }; // past WEBHOOK_TIMEOUT_MS
      if (n === 2) return { status: 302, location: 'http://127.0.0.1:1/elsewhere' };
      if (n === 3) return { status: 410 };
      return { status: 503 };
    });
    const ep = await endpoint(t, r.url, ['resource.create']);
    await createResource(ctx.services, t);
    const api = apiClient(ctx.app, t.apiKey);
    const dead = await waitUntil(async () => {
      const res = await api.get(`/webhooks/${ep.id}/deliveries`);
      return res.body.items[0]?.status === 'failed' ? res.body.items[0] : undefined;
    }, 15_000, 'the delivery to be dead');
    assert.equal(dead.attempts, SCHEDULE.length + 1);
    assert.equal(dead.nextAttemptAt, null);
    assert.equal(dead.lastStatusCode, 503);
    const errors = r.received.length;
    assert.equal(errors, SCHEDULE.length + 1);
    assert.ok(results.includes('dead'));
    // What each attempt recorded (the last is on the row; the earlier ones were in order).
    const row = await ctx.services.db('webhook_deliveries').where({ id: dead.id }).first();
    assert.equal(row.last_error, 'HTTP 503');

    mode = 'ok';
    const again = await api.post(`/webhooks/${ep.id}/deliveries/${dead.id}/redeliver`);
    assert.equal(again.status, 202, again.text);
    assert.equal(again.body.status, 'pending');
    await waitUntil(async () => (await ctx.services.db('webhook_deliveries').where({ id: dead.id }).first()).status === 'delivered', 5_000, 'redelivered');
    assert.equal(r.received.at(-1)!.id, dead.id, 'the same webhook-id');
    assert.ok(verifySignature(ep.secret, r.received.at(-1)!));
    const second = await api.post(`/webhooks/${ep.id}/deliveries/${dead.id}/redeliver`);
    assert.equal(second.status, 409, 'a delivered one is not redelivered');
    assert.ok(await ctx.services.db('audit_events').where({ tenant_id: t.tenantId, action: 'webhook.redeliver', target_id: dead.id }).first());
    // The same attempts, counted for Prometheus.
    const scraped = await ctx.services.metrics.registry.getSingleMetricAsString('mfa_webhook_deliveries_total');
    for (const result of ['delivered', 'failed', 'dead']) assert.match(scraped, new RegExp(`mfa_webhook_deliveries_total\\{result="${result}"\\} [1-9]`), scraped);
  });

  it('records the reason of each failure kind: timeout, redirect not followed, refused connection', async () => {
    const slow = await receiver(() => ({ status: 200, delayMs: 1_500 }));
    const timeout = await sendWebhook(slow.url, {}, '{}', { allowPrivate: true, timeoutMs: 200 });
    assert.deepEqual({ ok: timeout.ok, timeout: /no answer within 200 ms/.test(timeout.error ?? '') }, { ok: false, timeout: true });
    const redirect = await receiver(() => ({ status: 301, location: '/x' }));
    const moved = await sendWebhook(redirect.url, {}, '{}', { allowPrivate: true, timeoutMs: 1_000 });
    assert.deepEqual(moved, { ok: false, statusCode: 301, error: 'redirect (301) not followed' });
    assert.equal(redirect.received.length, 1, 'the redirect was not followed');
    const closed = await sendWebhook('http://127.0.0.1:1/', {}, '{}', { allowPrivate: true, timeoutMs: 1_000 });
    assert.equal(closed.ok, false);
    assert.match(closed.error!, /ECONNREFUSED/);
  });

  it('rotation: both signatures for 24 h (each verifies with its secret), then only the new one', async () => {
    const t = await createTenant(ctx.services);
    const r = await receiver();
    const ep = await endpoint(t, r.url, ['user.create']);
    const rotated = await apiClient(ctx.app, t.apiKey).post(`/webhooks/${ep.id}/rotate-secret`);
    const u1 = await createUser(ctx.services, t);
    const h1 = await hookFor(r, (h) => (h.json.data.target as { id: string }).id === u1.id, 'event after rotation');
    const [first, second] = h1.signature.split(' ');
    assert.ok(first && second, `two signatures: ${h1.signature}`);
    assert.ok(verifySignature(rotated.body.secret, { ...h1, signature: first }), 'the first is the new secret');
    assert.ok(verifySignature(ep.secret, { ...h1, signature: second }), 'the second is the old secret');
    await ctx.services.db('webhook_endpoints').where({ id: ep.id }).update({ previous_secret_expires_at: new Date(Date.now() - 1000) });
    const u2 = await createUser(ctx.services, t);
    const h2 = await hookFor(r, (h) => (h.json.data.target as { id: string }).id === u2.id, 'event after the overlap');
    assert.equal(h2.signature.split(' ').length, 1);
    assert.ok(verifySignature(rotated.body.secret, h2));
    assert.ok(!verifySignature(ep.secret, h2));
  });

  it('an endpoint that failed everything for 5 days is disabled, its owners emailed (SMTP sink), and gets no more events', async () => {
    const t = await createTenant(ctx.services);
    const r = await receiver(() => ({ status: 500 }));
    const ep = await endpoint(t, r.url, ['resource.create']);
    await createResource(ctx.services, t);
    await waitUntil(async () => (await ctx.services.db('webhook_endpoints').where({ id: ep.id }).first()).failing_since, 5_000, 'failing_since set');
    await waitUntil(async () => (await ctx.services.db('webhook_deliveries').where({ endpoint_id: ep.id, status: 'failed' })).length === 1, 10_000, 'the first delivery dead');
    assert.equal((await ctx.services.db('webhook_endpoints').where({ id: ep.id }).first()).disabled_at, null, 'not disabled before 5 days');
    // Time injected on this endpoint's row alone: a clock moved for the whole process would also
    // age the endpoints of test files running alongside on the same database.
    await ctx.services.db('webhook_endpoints').where({ id: ep.id }).update({ failing_since: new Date(Date.now() - 5 * 24 * 3600_000 - 60_000) });
    {
      await createResource(ctx.services, t);
      const row = await waitUntil(async () => {
        const e = await ctx.services.db('webhook_endpoints').where({ id: ep.id }).first();
        return e.disabled_at ? e : undefined;
      }, 10_000, 'the endpoint disabled');
      assert.match(row.disabled_reason, /every delivery failed since/);
      const mail = await sink.waitFor((m) => m.to.includes(t.email) && m.subject === 'Webhook endpoint disabled', 10_000);
      assert.match(mail.text, new RegExp(r.url.replace(/[.:/]/g, '\\$&')));
      const audit = await ctx.services.db('audit_events').where({ tenant_id: t.tenantId, action: 'webhook.disable', target_id: ep.id }).first();
      assert.equal(audit.actor_type, 'system');
      const api = await apiClient(ctx.app, t.apiKey).get(`/webhooks/${ep.id}`);
      assert.equal(api.body.enabled, false);
    }
    assert.equal((await ctx.services.db('webhook_deliveries').where({ endpoint_id: ep.id }).whereIn('status', ['pending', 'retrying'])).length, 0, 'open deliveries ended as failed');
    const before = r.received.length;
    await createResource(ctx.services, t);
    await waitUntil(async () => (await ctx.services.db('audit_events').where({ tenant_id: t.tenantId }).whereNull('fanned_out_at')).length === 0, 5_000, 'fan-out');
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(r.received.length, before, 'a disabled endpoint receives nothing');
    const redeliver = await apiClient(ctx.app, t.apiKey).post(`/webhooks/${ep.id}/deliveries/${r.received[0].id}/redeliver`);
    assert.equal(redeliver.status, 409, 'no redelivery while disabled');
  });

  it('production mode (WEBHOOK_ALLOW_PRIVATE=false) refuses a private target at delivery time, after DNS', async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    const host = hostname();
    const addresses = await lookup(host, { all: true }).catch(() => []);
    const privateName = addresses.length > 0 && addresses.every((a) => isForbiddenAddress(a.address));
    if (privateName) {
      // A name (not a literal address) that resolves to loopback: only the check after DNS catches it.
      const refused = await sendWebhook(`https://${host}:${port}/`, {}, '{}', { allowPrivate: false, timeoutMs: 1_000 });
      assert.equal(refused.ok, false);
      assert.match(refused.error!, /resolves to .*private or local/);
      const allowed = await sendWebhook(`http://${host}:${port}/`, {}, '{}', { allowPrivate: true, timeoutMs: 1_000 });
      assert.equal(allowed.ok, true, allowed.error);
    }
    // An endpoint stored while private targets were allowed is refused by a production deliverer.
    const t = await createTenant(ctx.services);
    const ep = await endpoint(t, `${r.url}/prod`, ['resource.create']);
    await stopDispatch();
    try {
      await createResource(ctx.services, t);
      const { deliveryIds } = await fanOutNow();
      const strict = createWebhookDeliverer(ctx.services.db, ctx.services.secrets, ctx.services.messages, { ...ctx.config.webhooks, allowPrivate: false }, ctx.services.log);
      const mine = (await ctx.services.db('webhook_deliveries').whereIn('id', deliveryIds).where({ endpoint_id: ep.id }))[0];
      assert.equal(await strict.deliver(mine.id), 'failed');
      const row = await ctx.services.db('webhook_deliveries').where({ id: mine.id }).first();
      assert.match(row.last_error, /refused: .*https/);
      assert.equal(r.received.filter((h) => h.path === '/prod').length, 0);
    } finally {
      stopDispatch = ctx.services.auditDispatch.start(25);
    }
  });

  it('the 5-day rule with an injected clock: a first failure starts the clock, a failure 5 days later disables and emails the owners', async () => {
    const t = await createTenant(ctx.services);
    const r = await receiver(() => ({ status: 500 }));
    const ep = await endpoint(t, r.url, ['token.pin.set']);
    let offsetMs = 0;
    const seen: DeliveryResult[] = [];
    const clocked = createWebhookDeliverer(ctx.services.db, ctx.services.secrets, ctx.services.messages, ctx.config.webhooks, ctx.services.log, {
      now: () => new Date(Date.now() + offsetMs),
      onDeliveryResult: (x) => seen.push(x),
    });
    // This test's deliveries are attempted by the clocked deliverer alone.
    await stopDispatch();
    try {
      await recordAudit(ctx.services.db, t.actor, { action: 'token.pin.set', targetType: 'token' });
      await recordAudit(ctx.services.db, t.actor, { action: 'token.pin.set', targetType: 'token' });
      await fanOutNow();
      const [first, second] = await ctx.services.db('webhook_deliveries').where({ endpoint_id: ep.id }).orderBy('event_id');
      assert.equal(await clocked.deliver(first.id), 'failed');
      const started = (await ctx.services.db('webhook_endpoints').where({ id: ep.id }).first()).failing_since;
      assert.ok(Math.abs(new Date(started).getTime() - Date.now()) < 5_000, 'the clock starts at the first failure');
      offsetMs = 5 * 24 * 3600_000 - 60_000;
      assert.equal(await clocked.deliver(second.id), 'failed');
      assert.equal((await ctx.services.db('webhook_endpoints').where({ id: ep.id }).first()).disabled_at, null, 'a minute short of 5 days: still enabled');
      offsetMs = 5 * 24 * 3600_000 + 60_000;
      await waitUntil(async () => (await ctx.services.db('webhook_deliveries').where({ id: first.id }).first()).next_attempt_at <= new Date(), 2_000, 'the retry due');
      assert.equal(await clocked.deliver(first.id), 'dead', 'the attempt that disables the endpoint ends its delivery');
      const row = await ctx.services.db('webhook_endpoints').where({ id: ep.id }).first();
      assert.ok(row.disabled_at, 'disabled after 5 days of failures');
      assert.deepEqual(await ctx.services.db('webhook_deliveries').where({ endpoint_id: ep.id }).pluck('status'), ['failed', 'failed'], 'open deliveries ended');
      await sink.waitFor((m) => m.to.includes(t.email) && m.subject === 'Webhook endpoint disabled', 10_000);
      assert.deepEqual(seen, ['failed', 'failed', 'dead'], 'the attempt that disables is reported dead');
    } finally {
      stopDispatch = ctx.services.auditDispatch.start(25);
    }
  });

  async function fanOutNow(): Promise<{ deliveryIds: string[] }> {
    const { createAuditFanOut } = await import('../../src/audit/audit-fan-out');
    return createAuditFanOut(ctx.services.db, ctx.services.messages).run(async () => undefined);
  }
});
