/**
 * GET /metrics (issue 13 §4): the named metrics appear with their labels after the events that
 * produce them (an authentication that succeeds and one that fails, a job run, an email delivered
 * to a real SMTP sink), route labels are templates, and METRICS_TOKEN is enforced.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser, unique } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { parsePrometheus } from '../helpers/prometheus';
import { freePort, waitUntil } from '../helpers/wait';
import { base32Encode, generateTotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const TOKEN = 'metrics-token-for-the-tests-0123456789';

describe('metrics: GET /metrics', () => {
  let ctx: TestContext;
  let sink: SmtpSink;
  before(async () => {
    sink = await startSmtpSink();
    // No REDIS_URL: the email job runs in this process, so its counters are in this registry.
    ctx = await createTestContext({ SMTP_URL: sink.url, METRICS_TOKEN: TOKEN });
  });
  after(async () => {
    await ctx.close();
    await sink.close();
  });

  const scrape = async () => {
    const res = await request(ctx.app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(res.text);
  };

  it('refuses a scrape without the token or with a wrong one (401), answers with it', async () => {
    const none = await request(ctx.app).get('/metrics');
    assert.equal(none.status, 401);
    assert.match(none.text, /Authorization: Bearer <METRICS_TOKEN>/);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="metrics"');
    for (const header of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, TOKEN]) {
      assert.equal((await request(ctx.app).get('/metrics').set('Authorization', header)).status, 401, header);
    }
    assert.equal((await request(ctx.app).get('/metrics').set('Authorization', `bearer ${TOKEN}`)).status, 200);
  });

  it('counts authentications by result and times requests by route template and status class', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const api = apiClient(ctx.app, tenant.apiKey);
    const resource = await createResource(s, tenant);
    const user = await createUser(s, tenant);
    await s.users.assign(tenant.actor, resource.id, user.id);
    const created = await api.post('/tokens', { userId: user.id, secret: base32Encode(SEED), type: 'totp' });
    assert.equal(created.status, 201, created.text);
    assert.equal((await api.put(`/resources/${resource.id}/tokens/${created.body.id}`)).status, 204);

    const before = await scrape();
    const path = `/resources/${resource.id}/authenticate`;
    assert.equal((await api.post(path, { login: user.login, otp: '000000' === generateTotp(SEED, Date.now(), { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 }) ? '111111' : '000000' })).body.result, false);
    assert.equal((await api.post(path, { login: user.login, otp: generateTotp(SEED, Date.now(), { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 }) })).body.result, true);
    assert.equal((await api.post(`/resources/not-a-uuid/authenticate`, { login: 'x', otp: '1' })).status, 404);
    await request(ctx.app).get(`/no/such/page/${unique('x')}`).expect(404);
    const after = await scrape();

    assert.equal(after.types.get('mfa_authentications_total'), 'counter');
    assert.equal(after.sum('mfa_authentications_total', { result: 'success' }) - before.sum('mfa_authentications_total', { result: 'success' }), 1);
    assert.equal(after.sum('mfa_authentications_total', { result: 'failure' }) - before.sum('mfa_authentications_total', { result: 'failure' }), 1);

    assert.equal(after.types.get('http_request_duration_seconds'), 'histogram');
    const route = '/api/v1/resources/:id/authenticate';
    const count = (scrape: typeof after, status: string) => scrape.sum('http_request_duration_seconds_count', { method: 'POST', route, status });
    assert.equal(count(after, '2xx') - count(before, '2xx'), 2);
    assert.equal(count(after, '4xx') - count(before, '4xx'), 1);
    assert.ok(after.find('http_request_duration_seconds_bucket', { method: 'POST', route, status: '2xx', le: '+Inf' }).length === 1);
    assert.ok(after.sum('http_request_duration_seconds_sum', { method: 'POST', route, status: '2xx' }) > 0);
    assert.ok(after.sum('http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '4xx' }) >= 1);
    // Labels are templates: no raw id or URL ever becomes one.
    const routes = new Set(after.find('http_request_duration_seconds_count').map((s) => s.labels.route));
    for (const label of routes) assert.doesNotMatch(label, /[0-9a-f]{8}-[0-9a-f]{4}|not-a-uuid|no\/such/, label);
  });

  it('counts job runs, times message delivery and shows the in-process queue counts', async () => {
    const s = ctx.services;
    const before = await scrape();
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    const user = await createUser(s, tenant, { email: `${unique('m')}@example.test` });
    await s.users.assign(tenant.actor, resource.id, user.id);
    const token = await s.tokens.create(tenant.actor, { type: 'email', userId: user.id });
    await s.tokens.assignToResource(tenant.actor, resource.id, token.token.id);
    const api = apiClient(ctx.app, tenant.apiKey);
    assert.equal((await api.post(`/resources/${resource.id}/challenge`, { login: user.login })).status, 200);
    await sink.waitFor((mail) => mail.to.includes(user.email!));
    const job = { queue: 'email', name: 'message.send', result: 'success' };
    const after = await waitUntil(async () => {
      const scraped = await scrape();
      return scraped.sum('mfa_jobs_total', job) > before.sum('mfa_jobs_total', job) ? scraped : undefined;
    }, 5_000, 'the email job to be counted');

    assert.equal(after.types.get('mfa_jobs_total'), 'counter');
    assert.equal(after.sum('mfa_jobs_total', job) - before.sum('mfa_jobs_total', job), 1);
    assert.equal(after.types.get('mfa_message_delivery_seconds'), 'histogram');
    const deliveries = (scraped: typeof after) => scraped.sum('mfa_message_delivery_seconds_count', { channel: 'email' });
    assert.equal(deliveries(after) - deliveries(before), 1);
    const seconds = after.sum('mfa_message_delivery_seconds_sum', { channel: 'email' }) - before.sum('mfa_message_delivery_seconds_sum', { channel: 'email' });
    assert.ok(seconds > 0 && seconds < 10, String(seconds));

    assert.equal(after.types.get('mfa_queue_jobs'), 'gauge');
    for (const queue of ['email', 'provisioning', 'audit']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        assert.equal(after.find('mfa_queue_jobs', { queue, state }).length, 1, `${queue} ${state}`);
      }
    }
  });

  it('defines the webhook deliveries counter and process metrics', async () => {
    ctx.services.metrics.webhookDeliveries.inc({ result: 'delivered' });
    const scraped = await scrape();
    assert.equal(scraped.types.get('mfa_webhook_deliveries_total'), 'counter');
    assert.ok(scraped.sum('mfa_webhook_deliveries_total', { result: 'delivered' }) >= 1);
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.ok(scraped.find(name).length > 0, name);
    }
  });

  it('answers quickly without queue samples when Redis does not answer', async () => {
    // A port nothing listens on: BullMQ counts never arrive, the scrape must not wait for them.
    const redisCtx = await createTestContext({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, QUEUE_PREFIX: unique('metrics') });
    try {
      const started = Date.now();
      const res = await request(redisCtx.app).get('/metrics');
      assert.equal(res.status, 200, 'no METRICS_TOKEN: open (development and tests)');
      assert.ok(Date.now() - started < 2_000, `${Date.now() - started} ms`);
      const scraped = parsePrometheus(res.text);
      assert.equal(scraped.find('mfa_queue_jobs').length, 0);
      assert.ok(scraped.find('process_resident_memory_bytes').length > 0);
    } finally {
      await redisCtx.close();
    }
  });
});
