/** Console: Settings → Webhooks (owners) and Alerts (every admin), through supertest with real sessions and CSRF. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant } from '../helpers/factories';
import { csrfOf, signIn, type Agent } from '../helpers/admin-agent';
import { recordAudit } from '../../src/audit/audit.repository';

describe('console: webhooks and alerts', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(async () => ctx.close());

  /** Posts a raw urlencoded body (repeated keys for checkbox lists) with the page's CSRF token. */
  async function post(agent: Agent, page: string, action: string, body: string) {
    const token = await csrfOf(agent, page);
    return agent.post(action).type('form').send(`_csrf=${encodeURIComponent(token)}&${body}`);
  }

  it('an owner adds an endpoint: the secret is shown once on a no-store page, then never again', async () => {
    const t = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, t);
    const page = await agent.get('/admin/webhooks');
    assert.equal(page.status, 200);
    assert.match(page.text, /Add an endpoint/);
    assert.match(page.text, /<label for="f-url">URL<\/label>/);
    const created = await post(agent, '/admin/webhooks', '/admin/webhooks', 'url=http%3A%2F%2F127.0.0.1%3A9%2Fhook&description=SIEM&scope=all');
    assert.equal(created.status, 303, created.text);
    const location = String(created.headers.location);
    assert.match(location, /^\/admin\/webhooks\/[0-9a-f-]{36}$/);
    const shown = await agent.get(location);
    assert.equal(shown.headers['cache-control'], 'no-store');
    const secret = shown.text.match(/whsec_[A-Za-z0-9+/=]+/)?.[0];
    assert.ok(secret, 'secret shown');
    const again = await agent.get(location);
    assert.ok(!again.text.includes('whsec_'), 'shown only once');
    const row = await ctx.services.db('webhook_endpoints').where({ tenant_id: t.tenantId }).first();
    assert.deepEqual(row.events, ['*']);
    assert.equal(row.description, 'SIEM');
    assert.match((await agent.get('/admin/webhooks')).text, /127\.0\.0\.1:9\/hook/);
  });

  it('selected event types, a bad URL re-rendered with its error (422), and edits with enable/disable', async () => {
    const t = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, t);
    const bad = await post(agent, '/admin/webhooks', '/admin/webhooks', 'url=nope&scope=all');
    assert.equal(bad.status, 422);
    assert.match(bad.text, /aria-invalid="true"/);
    assert.match(bad.text, /Enter a full URL/);
    const none = await post(agent, '/admin/webhooks', '/admin/webhooks', 'url=http%3A%2F%2F127.0.0.1%3A9%2F&scope=selected');
    assert.equal(none.status, 422);
    assert.match(none.text, /Choose at least one event type/);
    const ok = await post(agent, '/admin/webhooks', '/admin/webhooks', 'url=http%3A%2F%2F127.0.0.1%3A9%2F&scope=selected&events=user.create&events=resource.create');
    assert.equal(ok.status, 303);
    const id = String(ok.headers.location).split('/').pop()!;
    assert.deepEqual((await ctx.services.db('webhook_endpoints').where({ id }).first()).events, ['resource.create', 'user.create']);
    const off = await post(agent, `/admin/webhooks/${id}`, `/admin/webhooks/${id}`, 'url=http%3A%2F%2F127.0.0.1%3A9%2Fx&scope=all&enabled=0');
    assert.equal(off.status, 303, off.text);
    const row = await ctx.services.db('webhook_endpoints').where({ id }).first();
    assert.equal(row.url, 'http://127.0.0.1:9/x');
    assert.ok(row.disabled_at);
    assert.match((await agent.get(`/admin/webhooks/${id}`)).text, /Disabled/);
  });

  it('deliveries are listed; an owner redelivers a dead one; rotation shows the new secret once; delete asks first', async () => {
    const t = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, t);
    const { endpoint } = await ctx.services.webhooks.create(t.actor, { url: 'http://127.0.0.1:9/', events: ['*'] });
    await recordAudit(ctx.services.db, t.actor, { action: 'user.create', targetType: 'user' });
    const event = await ctx.services.db('audit_events').where({ tenant_id: t.tenantId, action: 'user.create' }).first();
    const [delivery] = await ctx.services.db('webhook_deliveries')
      .insert({ tenant_id: t.tenantId, endpoint_id: endpoint.id, event_id: event.id, event_type: 'user.create', status: 'failed', attempts: 8, last_status_code: 500, last_error: 'HTTP 500' })
      .returning('id');
    const page = await agent.get(`/admin/webhooks/${endpoint.id}`);
    assert.match(page.text, /HTTP 500/);
    assert.match(page.text, />failed</);
    const redo = await post(agent, `/admin/webhooks/${endpoint.id}`, `/admin/webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`, '');
    assert.equal(redo.status, 303);
    // Started again from a fresh schedule (a dispatcher of another test file may already be attempting it).
    assert.ok((await ctx.services.db('webhook_deliveries').where({ id: delivery.id }).first()).attempts < 8);
    assert.ok(await ctx.services.db('audit_events').where({ tenant_id: t.tenantId, action: 'webhook.redeliver', target_id: delivery.id }).first());
    const rotated = await post(agent, `/admin/webhooks/${endpoint.id}`, `/admin/webhooks/${endpoint.id}/rotate-secret`, '');
    assert.equal(rotated.status, 303);
    assert.match((await agent.get(`/admin/webhooks/${endpoint.id}`)).text, /whsec_/);
    assert.match((await agent.get(`/admin/webhooks/${endpoint.id}/delete`)).text, /cannot be undone/);
    const removed = await post(agent, `/admin/webhooks/${endpoint.id}/delete`, `/admin/webhooks/${endpoint.id}/delete`, '');
    assert.equal(removed.status, 303);
    assert.equal(await ctx.services.db('webhook_endpoints').where({ id: endpoint.id }).first(), undefined);
  });

  it('admins and auditors get 403 on webhooks; a post without CSRF is refused; another tenant\'s endpoint is 404', async () => {
    const owner = await createTenant(ctx.services);
    const { endpoint } = await ctx.services.webhooks.create(owner.actor, { url: 'http://127.0.0.1:9/', events: ['*'] });
    for (const role of ['admin', 'auditor'] as const) {
      const agent = await signIn(ctx.app, await addAdmin(ctx.services, owner, role));
      assert.equal((await agent.get('/admin/webhooks')).status, 403);
      assert.equal((await post(agent, '/admin/alerts', '/admin/webhooks', 'url=http%3A%2F%2F127.0.0.1%3A9%2F&scope=all')).status, 403);
      assert.doesNotMatch((await agent.get('/admin/alerts')).text, /href="\/admin\/webhooks"/);
    }
    const agent = await signIn(ctx.app, owner);
    const noCsrf = await agent.post(`/admin/webhooks/${endpoint.id}/delete`).type('form').send('x=1');
    assert.equal(noCsrf.status, 403);
    assert.ok(await ctx.services.db('webhook_endpoints').where({ id: endpoint.id }).first());
    const stranger = await signIn(ctx.app, await createTenant(ctx.services));
    assert.equal((await stranger.get(`/admin/webhooks/${endpoint.id}`)).status, 404);
    assert.equal((await post(stranger, '/admin/webhooks', `/admin/webhooks/${endpoint.id}/delete`, '')).status, 404);
  });

  it('alerts: each admin ticks their own kinds; the owner sees who receives what', async () => {
    const owner = await createTenant(ctx.services);
    const admin = await addAdmin(ctx.services, owner, 'admin');
    const agent = await signIn(ctx.app, admin);
    const page = await agent.get('/admin/alerts');
    assert.equal(page.status, 200);
    assert.match(page.text, /<label for="f-kind-user_locked">A user is locked out<\/label>/);
    assert.doesNotMatch(page.text, /Who receives what/);
    const saved = await post(agent, '/admin/alerts', '/admin/alerts', 'kinds=user_locked&kinds=api_key_changed');
    assert.equal(saved.status, 303);
    assert.match((await agent.get('/admin/alerts')).text, /id="f-kind-user_locked" name="kinds" value="user_locked" aria-describedby="f-kind-user_locked-hint" checked/);
    const bad = await post(agent, '/admin/alerts', '/admin/alerts', 'kinds=everything');
    assert.equal(bad.status, 422);
    const ownerPage = await (await signIn(ctx.app, owner)).get('/admin/alerts');
    assert.match(ownerPage.text, /Who receives what/);
    assert.match(ownerPage.text, new RegExp(`${admin.email.replace(/[.]/g, '\\.')}</td>\\s*<td data-label="Role">admin</td>\\s*<td data-label="Alert emails">A user is locked out; An API key was created or revoked</td>`));
  });
});
