import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, unique } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';

const RESOURCE_KEYS = ['createdAt', 'description', 'failedAttemptsLimit', 'id', 'invitationDays', 'invitationReminderDays', 'lockMinutes', 'maxTokensPerUser', 'name', 'notifyNewEnvironment', 'pinPosition', 'requireSecondFactor', 'totpWindow', 'trustedEnvironmentSkipsSecondFactor', 'updatedAt'];

describe('api: resources', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const countResources = async (tenantId: string) => Number((await ctx.services.db('resources').where({ tenant_id: tenantId }).count('* as n').first())!.n);

  it('answers every API request, refusals included, with the API header set instead of the HTML pages\' policy', async () => {
    const tenant = await createTenant(ctx.services);
    const answers = [
      await apiClient(ctx.app, tenant.apiKey).get('/resources'),
      await request(ctx.app).get('/api/v1/resources'),
      await apiClient(ctx.app, tenant.apiKey).get('/no-such-path'),
    ];
    assert.deepEqual(answers.map((res) => res.status), [200, 401, 404]);
    for (const res of answers) {
      assert.match(res.headers['content-type'], /^application\/json/);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.equal(res.headers.etag, undefined);
      assert.ok(res.headers['x-request-id']);
    }
    // The console keeps helmet's full policy.
    const page = await request(ctx.app).get('/admin/login');
    assert.match(page.headers['content-security-policy'], /script-src 'self'/);
  });

  it('creates a resource with defaults, exposes exactly the documented fields, and audits as the API key', async () => {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const res = await api.post('/resources', { name: 'Corporate VPN' });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), RESOURCE_KEYS);
    assert.deepEqual(
      { ...res.body, id: undefined, createdAt: undefined, updatedAt: undefined },
      { id: undefined, name: 'Corporate VPN', description: '', failedAttemptsLimit: 5, lockMinutes: 5, pinPosition: 'before', maxTokensPerUser: 1, requireSecondFactor: false, totpWindow: 1, trustedEnvironmentSkipsSecondFactor: false, notifyNewEnvironment: false, invitationDays: 30, invitationReminderDays: [2, 10], createdAt: undefined, updatedAt: undefined },
    );
    assert.match(res.body.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(res.headers.location, `/api/v1/resources/${res.body.id}`);
    assert.equal(res.headers['cache-control'], 'no-store');

    const key = await ctx.services.db('api_keys').where({ tenant_id: tenant.tenantId }).first();
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.create', target_id: res.body.id });
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor_type, 'api_key');
    assert.equal(audit[0].actor_id, key.id);

    const got = await api.get(`/resources/${res.body.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, res.body);
  });

  it('creates with every setting given', async () => {
    const tenant = await createTenant(ctx.services);
    const input = { name: 'Wiki', description: 'Team wiki', failedAttemptsLimit: 3, lockMinutes: 0, pinPosition: 'after', maxTokensPerUser: 4, requireSecondFactor: true, totpWindow: 2 };
    const res = await apiClient(ctx.app, tenant.apiKey).post('/resources', input);
    assert.equal(res.status, 201, res.text);
    for (const [k, v] of Object.entries(input)) assert.equal(res.body[k], v, k);
  });

  it('answers 422 with one message per bad field, and writes nothing', async () => {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const res = await api.post('/resources', { name: '  ', failedAttemptsLimit: 11, pinPosition: 'middle', totpWindow: 1.5, requireSecondFactor: 'yes' });
    assertApiError(res, 422, 'validation_failed');
    assert.deepEqual(res.body.error.fields, {
      name: 'Enter a name.',
      failedAttemptsLimit: 'Use a number from 3 to 10.',
      pinPosition: 'Choose "before" or "after".',
      totpWindow: 'Enter a whole number from 0 to 10.',
      requireSecondFactor: 'Use true or false.',
    });

    const unknown = await api.post('/resources', { name: 'Mail', colour: 'red' });
    assertApiError(unknown, 422, 'validation_failed');
    assert.match(JSON.stringify(unknown.body.error.fields), /colour/);

    const wrongType = await api.post('/resources', { name: 42, lockMinutes: '5' });
    assertApiError(wrongType, 422, 'validation_failed');
    assert.ok(wrongType.body.error.fields.name);
    assert.ok(wrongType.body.error.fields.lockMinutes);
    assert.equal(await countResources(tenant.tenantId), 0);
  });

  it('refuses a duplicate name (any case) with 409', async () => {
    const tenant = await createTenant(ctx.services);
    await createResource(ctx.services, tenant, { name: 'Wiki' });
    const res = await apiClient(ctx.app, tenant.apiKey).post('/resources', { name: 'WIKI' });
    assertApiError(res, 409, 'conflict');
    assert.match(res.body.error.fields.name, /already exists/);
    assert.equal(await countResources(tenant.tenantId), 1);
  });

  it('answers 400 for invalid JSON and for bodies that are not a JSON object', async () => {
    const tenant = await createTenant(ctx.services);
    const auth = `Bearer ${tenant.apiKey}`;
    const broken = await request(ctx.app).post('/api/v1/resources').set('Authorization', auth).set('Content-Type', 'application/json').send('{"name": "x",');
    assertApiError(broken, 400, 'invalid_json');
    const scalar = await request(ctx.app).post('/api/v1/resources').set('Authorization', auth).set('Content-Type', 'application/json').send('"just a string"');
    assertApiError(scalar, 400, 'invalid_json');
    const array = await apiClient(ctx.app, tenant.apiKey).post('/resources', [{ name: 'x' }]);
    assertApiError(array, 400, 'bad_request');
    const form = await request(ctx.app).post('/api/v1/resources').set('Authorization', auth).type('form').send({ name: 'x' });
    assertApiError(form, 400, 'bad_request');
    const empty = await request(ctx.app).post('/api/v1/resources').set('Authorization', auth);
    assertApiError(empty, 400, 'bad_request');
    const tooLarge = await apiClient(ctx.app, tenant.apiKey).post('/resources', { name: 'x', description: 'a'.repeat(150_000) });
    assertApiError(tooLarge, 413, 'too_large');
    assert.equal(await countResources(tenant.tenantId), 0);
  });

  it('lists with search and paging', async () => {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    for (const name of ['Alpha VPN', 'Beta VPN', 'Gamma wiki']) await createResource(ctx.services, tenant, { name });
    const all = await api.get('/resources');
    assert.equal(all.status, 200);
    assert.deepEqual(Object.keys(all.body).sort(), ['items', 'page', 'perPage', 'total']);
    assert.equal(all.body.total, 3);
    assert.deepEqual(Object.keys(all.body.items[0]).sort(), RESOURCE_KEYS);

    const vpn = await api.get('/resources?q=vpn&perPage=1&page=2');
    assert.equal(vpn.body.total, 2);
    assert.equal(vpn.body.page, 2);
    assert.equal(vpn.body.perPage, 1);
    assert.deepEqual(vpn.body.items.map((r: { name: string }) => r.name), ['Beta VPN']);

    const garbled = await api.get('/resources?page=abc&perPage=-5&q=%25');
    assert.equal(garbled.status, 200);
    assert.equal(garbled.body.total, 0, 'a "%" is searched literally');
  });

  it('patches only the given fields and audits the change', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant, { name: 'Mail', totpWindow: 3 });
    const api = apiClient(ctx.app, tenant.apiKey);
    const res = await api.patch(`/resources/${resource.id}`, { lockMinutes: 30, requireSecondFactor: true });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.lockMinutes, 30);
    assert.equal(res.body.requireSecondFactor, true);
    assert.equal(res.body.name, 'Mail');
    assert.equal(res.body.totpWindow, 3);
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.update', target_id: resource.id }).first();
    assert.equal(audit.actor_type, 'api_key');
    assert.deepEqual(audit.details.fields.sort(), ['lockMinutes', 'requireSecondFactor']);

    const bad = await api.patch(`/resources/${resource.id}`, { lockMinutes: -1, name: 'Renamed' });
    assertApiError(bad, 422, 'validation_failed');
    assert.ok(bad.body.error.fields.lockMinutes);
    const row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.equal(row.name, 'Mail');
    assert.equal(row.lock_minutes, 30);
  });

  it('deletes with 204, then answers 404', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant);
    const api = apiClient(ctx.app, tenant.apiKey);
    const res = await api.delete(`/resources/${resource.id}`);
    assert.equal(res.status, 204);
    assert.equal(res.text, '');
    assertApiError(await api.get(`/resources/${resource.id}`), 404, 'not_found');
    assertApiError(await api.delete(`/resources/${resource.id}`), 404, 'not_found');
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.delete', target_id: resource.id });
    assert.equal(audit.length, 1);
  });

  it("answers 404 for another tenant's resource and changes nothing (SEC-20)", async () => {
    const owner = await createTenant(ctx.services);
    const intruder = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, owner, { name: 'Payroll' });
    const api = apiClient(ctx.app, intruder.apiKey);
    assertApiError(await api.get(`/resources/${resource.id}`), 404, 'not_found');
    assertApiError(await api.patch(`/resources/${resource.id}`, { name: 'Hijacked' }), 404, 'not_found');
    assertApiError(await api.delete(`/resources/${resource.id}`), 404, 'not_found');
    assertApiError(await api.get(`/resources/${resource.id}/users`), 404, 'not_found');
    const list = await api.get(`/resources?q=Payroll`);
    assert.equal(list.body.total, 0);
    // Malformed ids are simply unknown ids, never a database error.
    assertApiError(await api.get('/resources/not-a-uuid'), 404, 'not_found');
    assertApiError(await api.patch('/resources/1%27%20OR%201=1', { name: 'x' }), 404, 'not_found');

    const row = await ctx.services.db('resources').where({ id: resource.id }).first();
    assert.equal(row.name, 'Payroll');
    assert.equal(row.updated_at.getTime(), resource.updatedAt.getTime());
    // A tenant id in the body cannot pick the tenant: it is an unknown field.
    const smuggled = await api.post('/resources', { name: 'Smuggled', tenantId: owner.tenantId });
    assertApiError(smuggled, 422, 'validation_failed');
    assert.equal(await countResources(owner.tenantId), 1);
  });

  it('answers unknown API paths with a JSON 404', async () => {
    const tenant = await createTenant(ctx.services);
    assertApiError(await apiClient(ctx.app, tenant.apiKey).get('/nope'), 404, 'not_found');
    assertApiError(await apiClient(ctx.app, tenant.apiKey).post('/resources/x/y/z', {}), 404, 'not_found');
  });
});

describe('api: authentication', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('answers 401 with WWW-Authenticate when the key is missing', async () => {
    const res = await request(ctx.app).get('/api/v1/resources');
    assertApiError(res, 401, 'unauthorized');
    assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    assert.match(res.body.error.message, /Authorization: Bearer/);
    // Unknown paths do not reveal anything without a key either.
    assertApiError(await request(ctx.app).get('/api/v1/nope'), 401, 'unauthorized');
  });

  it('answers 401 for malformed, unknown and wrong-scheme keys', async () => {
    const tenant = await createTenant(ctx.services);
    for (const header of ['Bearer nope', `Bearer ${tenant.apiKey}x`, `Bearer ${tenant.apiKey.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`, `Basic ${tenant.apiKey}`, tenant.apiKey, 'Bearer ']) {
      const res = await request(ctx.app).get('/api/v1/resources').set('Authorization', header);
      assertApiError(res, 401, 'unauthorized');
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
    }
    const created = await request(ctx.app).post('/api/v1/resources').set('Authorization', 'Bearer nope').send({ name: 'x' });
    assertApiError(created, 401, 'unauthorized');
    const garbage = await request(ctx.app).post('/api/v1/resources').set('Content-Type', 'application/json').send('{not json');
    assertApiError(garbage, 401, 'unauthorized');
    assert.equal(Number((await ctx.services.db('resources').where({ tenant_id: tenant.tenantId }).count('* as n').first())!.n), 0);
  });

  it('accepts the key only in the Authorization header (SEC-21)', async () => {
    const tenant = await createTenant(ctx.services);
    assertApiError(await request(ctx.app).get(`/api/v1/resources?api_key=${tenant.apiKey}`), 401, 'unauthorized');
    assertApiError(await request(ctx.app).get(`/api/v1/resources?access_token=${tenant.apiKey}`), 401, 'unauthorized');
    assertApiError(await request(ctx.app).get('/api/v1/resources').set('Cookie', `apiKey=${tenant.apiKey}`), 401, 'unauthorized');
    const ok = await request(ctx.app).get('/api/v1/resources').set('Authorization', `bearer ${tenant.apiKey}`);
    assert.equal(ok.status, 200, 'the scheme name is case-insensitive');
  });

  it('refuses a revoked key at once', async () => {
    const tenant = await createTenant(ctx.services);
    const { key, plain } = await ctx.services.apiKeys.create(tenant.actor, { name: unique('key') });
    assert.equal((await apiClient(ctx.app, plain).get('/resources')).status, 200);
    await ctx.services.apiKeys.revoke(tenant.actor, key.id);
    const res = await apiClient(ctx.app, plain).get('/resources');
    assertApiError(res, 401, 'unauthorized');
    assert.match(res.body.error.message, /revoked/);
    assert.equal((await apiClient(ctx.app, tenant.apiKey).get('/resources')).status, 200, 'other keys keep working');
  });

  it('serves the OpenAPI document without a key', async () => {
    const res = await request(ctx.app).get('/api/v1/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
  });
});
