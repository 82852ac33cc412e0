/** API: tenant webhook endpoints (issue 13 §1): create (secret once, sealed), read, change, rotate, delete; roles and tenants. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { createWebhookService } from '../../src/webhooks/webhook.service';
import { ForbiddenError, ValidationError } from '../../src/lib/errors';

describe('api: webhooks', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(async () => ctx.close());

  it('creates an endpoint: 201 with a whsec_ secret shown once and stored sealed; GET and list never show it', async () => {
    const t = await createTenant(ctx.services);
    const api = apiClient(ctx.app, t.apiKey);
    const res = await api.post('/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['user.create', 'user.locked'], description: 'SIEM' });
    assert.equal(res.status, 201, res.text);
    assert.match(res.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(res.body.events, ['user.create', 'user.locked']);
    assert.equal(res.body.enabled, true);
    assert.equal(res.body.description, 'SIEM');
    const row = await ctx.services.db('webhook_endpoints').where({ id: res.body.id }).first();
    assert.ok(row.secret_sealed.startsWith('v1:'));
    assert.ok(!row.secret_sealed.includes(res.body.secret.slice(6)));
    const shown = await api.get(`/webhooks/${res.body.id}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.secret, undefined);
    assert.ok(!shown.text.includes(res.body.secret));
    const list = await api.get('/webhooks');
    assert.deepEqual(list.body.items.map((e: { id: string }) => e.id), [res.body.id]);
    assert.ok(!list.text.includes('whsec_'));
    const audit = await ctx.services.db('audit_events').where({ tenant_id: t.tenantId, action: 'webhook.create' }).first();
    assert.equal(audit.target_id, res.body.id);
  });

  it('refuses bad input with 422 naming the field: no URL, not a URL, unknown event types, "*" with others, no events, unknown fields', async () => {
    const t = await createTenant(ctx.services);
    const api = apiClient(ctx.app, t.apiKey);
    const cases: Array<[unknown, string, RegExp]> = [
      [{ events: ['*'] }, 'url', /URL/],
      [{ url: 'not a url', events: ['*'] }, 'url', /full URL/],
      [{ url: 'ftp://example.com/', events: ['*'] }, 'url', /https/],
      [{ url: 'https://example.com/', events: ['user.create', 'user.explode'] }, 'events', /Unknown event type "user.explode"/],
      [{ url: 'https://example.com/', events: ['*', 'user.create'] }, 'events', /alone/],
      [{ url: 'https://example.com/', events: [] }, 'events', /at least one/],
      [{ url: 'https://example.com/' }, 'events', /event types/],
      [{ url: 'https://example.com/', events: ['*'], secret: 'mine' }, 'secret', /not recognised/],
    ];
    for (const [body, field, message] of cases) {
      const res = await api.post('/webhooks', body);
      assertApiError(res, 422, 'validation_failed');
      assert.match(res.body.error.fields[field], message, JSON.stringify(body));
    }
    assertApiError(await api.post('/webhooks', ['x']), 400, 'bad_request');
    assert.equal((await ctx.services.db('webhook_endpoints').where({ tenant_id: t.tenantId })).length, 0);
  });

  it('PATCH changes URL, events and description, disables and re-enables; each change audited', async () => {
    const t = await createTenant(ctx.services);
    const api = apiClient(ctx.app, t.apiKey);
    const { body: created } = await api.post('/webhooks', { url: 'http://127.0.0.1:9/a', events: ['*'] });
    const patched = await api.patch(`/webhooks/${created.id}`, { url: 'http://127.0.0.1:9/b', events: ['token.create'], description: 'new' });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.url, 'http://127.0.0.1:9/b');
    assert.deepEqual(patched.body.events, ['token.create']);
    assert.equal(patched.body.description, 'new');
    const off = await api.patch(`/webhooks/${created.id}`, { enabled: false });
    assert.equal(off.body.enabled, false);
    assert.equal(off.body.disabledReason, 'disabled by an owner');
    const on = await api.patch(`/webhooks/${created.id}`, { enabled: true });
    assert.equal(on.body.enabled, true);
    assert.equal(on.body.disabledAt, null);
    assertApiError(await api.patch(`/webhooks/${created.id}`, { events: ['nope'] }), 422, 'validation_failed');
    const actions = (await ctx.services.db('audit_events').where({ tenant_id: t.tenantId, action: 'webhook.update' })).length;
    assert.equal(actions, 3);
  });

  it('rotates the secret: a new one shown once, the old one valid 24 h more; audited', async () => {
    const t = await createTenant(ctx.services);
    const api = apiClient(ctx.app, t.apiKey);
    const { body: created } = await api.post('/webhooks', { url: 'http://127.0.0.1:9/a', events: ['*'] });
    const rotated = await api.post(`/webhooks/${created.id}/rotate-secret`);
    assert.equal(rotated.status, 200, rotated.text);
    assert.match(rotated.body.secret, /^whsec_/);
    assert.notEqual(rotated.body.secret, created.secret);
    const overlap = new Date(rotated.body.previousSecretExpiresAt).getTime() - Date.now();
    assert.ok(overlap > 23.9 * 3600_000 && overlap <= 24 * 3600_000, String(overlap));
    assert.ok(await ctx.services.db('audit_events').where({ tenant_id: t.tenantId, action: 'webhook.secret.rotate', target_id: created.id }).first());
  });

  it('DELETE answers 204, then 404; deliveries list of an endpoint is paged', async () => {
    const t = await createTenant(ctx.services);
    const api = apiClient(ctx.app, t.apiKey);
    const { body: created } = await api.post('/webhooks', { url: 'http://127.0.0.1:9/a', events: ['*'] });
    const deliveries = await api.get(`/webhooks/${created.id}/deliveries`);
    assert.equal(deliveries.status, 200);
    assert.deepEqual({ ...deliveries.body, items: deliveries.body.items.length }, { items: 0, page: 1, perPage: 25, total: 0 });
    assert.equal((await api.delete(`/webhooks/${created.id}`)).status, 204);
    assertApiError(await api.get(`/webhooks/${created.id}`), 404, 'not_found');
    assertApiError(await api.delete(`/webhooks/${created.id}`), 404, 'not_found');
    assert.ok(await ctx.services.db('audit_events').where({ tenant_id: t.tenantId, action: 'webhook.delete', target_id: created.id }).first());
  });

  it('SEC-20: another tenant\'s webhook ids answer 404 on every route and change nothing', async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const { body: theirs } = await apiClient(ctx.app, a.apiKey).post('/webhooks', { url: 'http://127.0.0.1:9/a', events: ['*'] });
    const api = apiClient(ctx.app, b.apiKey);
    const fakeDelivery = '00000000-0000-4000-8000-000000000000';
    for (const res of [
      await api.get(`/webhooks/${theirs.id}`),
      await api.patch(`/webhooks/${theirs.id}`, { url: 'http://127.0.0.1:9/stolen' }),
      await api.post(`/webhooks/${theirs.id}/rotate-secret`),
      await api.get(`/webhooks/${theirs.id}/deliveries`),
      await api.post(`/webhooks/${theirs.id}/deliveries/${fakeDelivery}/redeliver`),
      await api.delete(`/webhooks/${theirs.id}`),
      await api.get('/webhooks/not-a-uuid'),
    ]) assertApiError(res, 404, 'not_found');
    assert.deepEqual((await api.get('/webhooks')).body.items, []);
    const row = await ctx.services.db('webhook_endpoints').where({ id: theirs.id }).first();
    assert.equal(row.url, 'http://127.0.0.1:9/a');
  });

  it('owners only in the services: admins and auditors are refused, API keys and owners allowed', async () => {
    const owner = await createTenant(ctx.services);
    const admin = await addAdmin(ctx.services, owner, 'admin');
    const auditor = await addAdmin(ctx.services, owner, 'auditor');
    for (const actor of [admin.actor, auditor.actor]) {
      await assert.rejects(ctx.services.webhooks.create(actor, { url: 'http://127.0.0.1:9/a', events: ['*'] }), ForbiddenError);
      await assert.rejects(ctx.services.webhooks.list(actor), ForbiddenError);
    }
    const { endpoint } = await ctx.services.webhooks.create(owner.actor, { url: 'http://127.0.0.1:9/a', events: ['*'] });
    assert.equal((await ctx.services.webhooks.list(owner.actor)).length, 1);
    await assert.rejects(ctx.services.webhooks.rotateSecret(admin.actor, endpoint.id), ForbiddenError);
  });

  it('production rule (WEBHOOK_ALLOW_PRIVATE=false): http and literal private targets are refused at creation', async () => {
    const t = await createTenant(ctx.services);
    const strict = createWebhookService(ctx.services.db, ctx.services.secrets, { allowPrivate: false });
    for (const url of ['http://hooks.example.com/', 'https://127.0.0.1/', 'https://169.254.169.254/latest', 'https://[::1]:8443/', 'https://localhost/']) {
      await assert.rejects(strict.create(t.actor, { url, events: ['*'] }), (err: unknown) => err instanceof ValidationError && typeof err.fields.url === 'string', url);
    }
    const { endpoint } = await strict.create(t.actor, { url: 'https://hooks.example.com/in', events: ['*'] });
    assert.equal(endpoint.url, 'https://hooks.example.com/in');
  });
});
