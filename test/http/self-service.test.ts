import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, addAdmin, unique } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { csrfOf, postForm, signIn, type Agent } from '../helpers/admin-agent';
import { ALLOWED_ACTIONS, ENROLLMENT_TYPE_IDS } from '../../src/selfservice/self-service.types';

/** A fresh, valid address (lowercase letters, digits and "-"). */
const address = () => unique('portal').toLowerCase();

/** Posts a form whose fields may repeat (checkbox lists), with the page's CSRF token. */
async function postFields(agent: Agent, path: string, fields: [string, string][]) {
  const token = await csrfOf(agent, path);
  const body = new URLSearchParams([['_csrf', token], ...fields]).toString();
  return agent.post(path).type('form').send(body);
}

describe('self-service configuration', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('API: a valid address answers its URLs, activates the portal, and is audited', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant, { name: 'Corporate VPN' });
    const api = apiClient(ctx.app, tenant.apiKey);
    const before = await api.get(`/resources/${resource.id}/self-service`);
    assert.equal(before.status, 200);
    assert.deepEqual(before.body, { address: null, url: null, pathUrl: null, allowedActions: [], enrollmentTokenTypes: [] });

    const addr = address();
    const res = await api.put(`/resources/${resource.id}/self-service`, { address: addr.toUpperCase(), allowedActions: ['change_email', 'enroll_token'], enrollmentTokenTypes: ['totp'] });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, {
      address: addr,
      url: `http://localhost:3000/portal/${addr}/`,
      pathUrl: `http://localhost:3000/portal/${addr}/`,
      allowedActions: ['enroll_token', 'change_email'],
      enrollmentTokenTypes: ['totp'],
    });
    assert.deepEqual((await api.get(`/resources/${resource.id}/self-service`)).body, res.body);

    const portal = await request(ctx.app).get(`/portal/${addr}/`);
    assert.equal(portal.status, 200);
    assert.match(portal.text, /<title>Sign in · Corporate VPN<\/title>/);
    assert.match(portal.text, new RegExp(`<form method="post" action="/portal/${addr}/sign-in"`));
    assert.equal((await request(ctx.app).get(`/portal/${addr}`)).status, 301);

    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.self_service.update', target_id: resource.id });
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor_type, 'api_key');
    assert.equal(audit[0].details.address, addr);
  });

  it('API: refuses bad addresses with clear messages', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant);
    const api = apiClient(ctx.app, tenant.apiKey);
    const cases: [string, RegExp][] = [
      ['-bad', /start or end with "-"/],
      ['bad-', /start or end with "-"/],
      ['a', /at least 3 characters/],
      ['www', /"www" is reserved/],
      ['admin', /reserved/],
      ['x'.repeat(64), /at most 63 characters/],
      ['has_underscore', /a–z, digits 0–9 and "-"/],
      ['dot.ted', /a–z, digits 0–9 and "-"/],
    ];
    for (const [addr, message] of cases) {
      const res = await api.put(`/resources/${resource.id}/self-service`, { address: addr, allowedActions: [], enrollmentTokenTypes: [] });
      assertApiError(res, 422, 'validation_failed');
      assert.match(res.body.error.fields.address, message, `${addr}: ${res.text}`);
    }
    // 63 characters is fine.
    const longest = `a${'b'.repeat(61)}c`;
    assert.equal((await api.put(`/resources/${resource.id}/self-service`, { address: longest })).status, 200);
    const row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.equal(row.self_service_address, longest);
    await api.put(`/resources/${resource.id}/self-service`, { address: null });
  });

  it('API: refuses unknown action and token type ids, naming them', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant);
    const api = apiClient(ctx.app, tenant.apiKey);
    const res = await api.put(`/resources/${resource.id}/self-service`, { address: address(), allowedActions: ['enroll_token', 'fly_away'], enrollmentTokenTypes: ['carrier_pigeon'] });
    assertApiError(res, 422, 'validation_failed');
    assert.match(res.body.error.fields.allowedActions, /fly_away/);
    assert.match(res.body.error.fields.enrollmentTokenTypes, /carrier_pigeon/);
    const row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.equal(row.self_service_address, null);
    assertApiError(await api.put(`/resources/${resource.id}/self-service`, { address: address(), extra: 1 }), 422, 'validation_failed');
  });

  it('API: an address taken by another tenant is a 409; a foreign resource is a 404', async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const ra = await createResource(ctx.services, a);
    const rb = await createResource(ctx.services, b);
    const addr = address();
    assert.equal((await apiClient(ctx.app, a.apiKey).put(`/resources/${ra.id}/self-service`, { address: addr })).status, 200);
    const res = await apiClient(ctx.app, b.apiKey).put(`/resources/${rb.id}/self-service`, { address: addr });
    assertApiError(res, 409, 'conflict');
    assert.match(res.body.error.fields.address, /already taken/);
    assertApiError(await apiClient(ctx.app, b.apiKey).put(`/resources/${ra.id}/self-service`, { address: address() }), 404, 'not_found');
    assertApiError(await apiClient(ctx.app, b.apiKey).get(`/resources/${ra.id}/self-service`), 404, 'not_found');
    // Saving the same address again on its own resource is fine.
    assert.equal((await apiClient(ctx.app, a.apiKey).put(`/resources/${ra.id}/self-service`, { address: addr })).status, 200);
  });

  it('clearing the address deactivates the portal; unknown addresses are 404', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant);
    const api = apiClient(ctx.app, tenant.apiKey);
    const addr = address();
    await api.put(`/resources/${resource.id}/self-service`, { address: addr });
    assert.equal((await request(ctx.app).get(`/portal/${addr}/`)).status, 200);
    const cleared = await api.put(`/resources/${resource.id}/self-service`, { address: '' });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.address, null);
    assert.equal(cleared.body.url, null);
    const gone = await request(ctx.app).get(`/portal/${addr}/`);
    assert.equal(gone.status, 404);
    assert.match(gone.text, /no self-service portal/);
    assert.equal((await request(ctx.app).get(`/portal/${address()}/`)).status, 404);
    assert.equal((await request(ctx.app).get('/portal/-bad/')).status, 404);
  });

  it('console: saves each sub-tab, "All" enables all, and writes audit rows', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant, { name: 'Wiki' });
    const agent = await signIn(ctx.app, tenant);
    const base = `/admin/resources/${resource.id}/self-service`;

    const general = await agent.get(base);
    assert.equal(general.status, 200);
    assert.match(general.text, /Self-Service Address/);
    assert.match(general.text, /Deactivated/);
    assert.doesNotMatch(general.text, /data-copy/);
    const fragment = await agent.get(`${base}/actions`).set('HX-Request', 'true');
    assert.equal(fragment.status, 200);
    assert.doesNotMatch(fragment.text, /<html/);
    assert.match(fragment.text, /Enroll Token/);
    assert.match(fragment.text, /Manage User Environment/);
    assert.doesNotMatch(fragment.text, /value="enroll_token"[^>]*checked/);

    const addr = address();
    const saved = await postForm(agent, base, base, { address: addr });
    assert.equal(saved.status, 303);
    assert.equal(saved.headers.location, base);
    const after = await agent.get(base);
    assert.match(after.text, new RegExp(`<a id="portal-url" href="http://localhost:3000/portal/${addr}/"[^>]*>http://localhost:3000/portal/${addr}/</a>`));
    assert.match(after.text, /data-copy="#portal-url"/);

    const bad = await postForm(agent, base, base, { address: 'www' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /(&quot;|")www(&quot;|") is reserved/);

    const actions = await postFields(agent, `${base}/actions`, [['actions', 'enroll_token'], ['actions', 'change_password']]);
    assert.equal(actions.status, 303);
    let row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.deepEqual(row.allowed_actions, ['enroll_token', 'change_password']);
    assert.equal(row.self_service_address, addr);

    const all = await postFields(agent, `${base}/actions`, [['all', '1']]);
    assert.equal(all.status, 303);
    row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.deepEqual(row.allowed_actions, ALLOWED_ACTIONS);

    const none = await postFields(agent, `${base}/actions`, []);
    assert.equal(none.status, 303);
    row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.deepEqual(row.allowed_actions, []);

    assert.equal((await postFields(agent, `${base}/enrollment`, [['types', 'totp']])).status, 303);
    row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.deepEqual(row.enrollment_token_types, ['totp']);
    assert.equal((await postFields(agent, `${base}/enrollment`, [['all', '1']])).status, 303);
    row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.deepEqual(row.enrollment_token_types, ENROLLMENT_TYPE_IDS);
    const page = await agent.get(`${base}/enrollment`);
    assert.match(page.text, /value="webauthn"[^>]*checked/);

    const tampered = await postFields(agent, `${base}/enrollment`, [['types', 'bogus']]);
    assert.equal(tampered.status, 422);
    assert.match(tampered.text, /bogus/);

    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.self_service.update', target_id: resource.id });
    assert.equal(audit.length, 6);
    assert.ok(audit.every((e) => e.actor_type === 'admin'));

    const cleared = await postForm(agent, base, base, { address: '' });
    assert.equal(cleared.status, 303);
    assert.equal((await request(ctx.app).get(`/portal/${addr}/`)).status, 404);
  });

  it('console: a taken address shows a 409 message inline', async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const ra = await createResource(ctx.services, a);
    const rb = await createResource(ctx.services, b);
    const addr = address();
    await apiClient(ctx.app, a.apiKey).put(`/resources/${ra.id}/self-service`, { address: addr });
    const agent = await signIn(ctx.app, b);
    const base = `/admin/resources/${rb.id}/self-service`;
    const res = await postForm(agent, base, base, { address: addr });
    assert.equal(res.status, 409);
    assert.match(res.text, /already taken/);
    assert.match(res.text, new RegExp(`value="${addr}"`));
  });

  it("console: auditors read only; another tenant's resource is 404", async () => {
    const owner = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, owner);
    const auditor = await addAdmin(ctx.services, owner, 'auditor');
    const agent = await signIn(ctx.app, auditor);
    const base = `/admin/resources/${resource.id}/self-service`;
    const page = await agent.get(base);
    assert.equal(page.status, 200);
    assert.match(page.text, /<fieldset disabled>/);
    assert.equal((await postForm(agent, base, base, { address: address() })).status, 403);
    assert.equal((await postFields(agent, `${base}/actions`, [['all', '1']])).status, 403);
    const row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.equal(row.self_service_address, null);
    assert.deepEqual(row.allowed_actions, []);

    const other = await createTenant(ctx.services);
    const otherAgent = await signIn(ctx.app, other);
    assert.equal((await otherAgent.get(base)).status, 404);
    assert.equal((await otherAgent.get(`${base}/enrollment`)).status, 404);
    assert.equal((await postForm(otherAgent, '/admin/resources', base, { address: address() })).status, 404);
  });
});

describe('self-service portal by subdomain', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext({ PORTAL_DOMAIN: 'localhost' });
  });
  after(() => ctx.close());

  it('serves the portal at {address}.localhost and answers that url', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant, { name: 'Payroll' });
    const addr = address();
    const res = await apiClient(ctx.app, tenant.apiKey).put(`/resources/${resource.id}/self-service`, { address: addr, allowedActions: [], enrollmentTokenTypes: [] });
    assert.equal(res.status, 200, res.text);
    // BASE_URL is http://localhost:3000 in tests: the subdomain URL keeps its scheme and port (issue 15 §8).
    assert.equal(res.body.url, `http://${addr}.localhost:3000/`);
    assert.equal(res.body.pathUrl, `http://localhost:3000/portal/${addr}/`);

    const bySubdomain = await request(ctx.app).get('/').set('Host', `${addr}.localhost:3000`);
    assert.equal(bySubdomain.status, 200);
    assert.match(bySubdomain.text, /Payroll/);
    assert.equal((await request(ctx.app).get(`/portal/${addr}/`)).status, 200);
    assert.equal((await request(ctx.app).get('/').set('Host', `${address()}.localhost`)).status, 404);
    // The bare domain is not a portal.
    assert.equal((await request(ctx.app).get('/').set('Host', 'localhost:3000')).status, 302);
  });

  it('console: both URLs are links with a copy button, the subdomain one with the port (issue 15 §8)', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant, { name: 'Mail' });
    const addr = address();
    await apiClient(ctx.app, tenant.apiKey).put(`/resources/${resource.id}/self-service`, { address: addr, allowedActions: [], enrollmentTokenTypes: [] });
    const agent = await signIn(ctx.app, tenant);
    const page = await agent.get(`/admin/resources/${resource.id}/self-service`);
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(`<a id="portal-url" href="http://${addr}.localhost:3000/"`));
    assert.match(page.text, new RegExp(`<a id="portal-path-url" href="http://localhost:3000/portal/${addr}/"`));
    assert.match(page.text, /data-copy="#portal-url"/);
    assert.match(page.text, /data-copy="#portal-path-url"/);
  });
});
