/** POST /api/v1/resources/{id}/challenge: status codes and bodies (SPEC §3, SEC-21, SEC-22). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser, unique, type TestTenant } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';

describe('api: POST /resources/{id}/challenge', () => {
  let ctx: TestContext;
  let tenant: TestTenant;
  let api: ReturnType<typeof apiClient>;
  let resourceId: string;
  before(async () => {
    ctx = await createTestContext();
    tenant = await createTenant(ctx.services);
    api = apiClient(ctx.app, tenant.apiKey);
    resourceId = (await createResource(ctx.services, tenant)).id;
  });
  after(() => ctx.close());

  /** A user assigned to the resource, with an email token there unless `token` is false. */
  async function member(token = true) {
    const s = ctx.services;
    const user = await createUser(s, tenant, { email: `${unique('u')}@example.test` });
    await s.users.assign(tenant.actor, resourceId, user.id);
    if (token) {
      const created = await s.tokens.create(tenant.actor, { type: 'email', userId: user.id });
      await s.tokens.assignToResource(tenant.actor, resourceId, created.token.id);
    }
    return user;
  }

  it('answers 401 without a valid API key', async () => {
    const res = await request(ctx.app).post(`/api/v1/resources/${resourceId}/challenge`).send({ login: 'anyone' });
    assertApiError(res, 401, 'unauthorized');
    assertApiError(await request(ctx.app).post(`/api/v1/resources/${resourceId}/challenge`).set('Authorization', 'Bearer mfa_wrong').send({ login: 'x' }), 401, 'unauthorized');
  });

  it('answers 404 for an unknown, malformed or foreign resource id', async () => {
    assertApiError(await api.post('/resources/00000000-0000-4000-8000-000000000000/challenge', { login: 'x' }), 404, 'not_found');
    assertApiError(await api.post('/resources/not-a-uuid/challenge', { login: 'x' }), 404, 'not_found');
    const other = await createTenant(ctx.services);
    const foreign = await createResource(ctx.services, other);
    assertApiError(await api.post(`/resources/${foreign.id}/challenge`, { login: 'x' }), 404, 'not_found');
  });

  it('answers 400 for a body that is not a JSON object', async () => {
    const path = `/api/v1/resources/${resourceId}/challenge`;
    const auth = { Authorization: `Bearer ${tenant.apiKey}` };
    assertApiError(await request(ctx.app).post(path).set(auth).set('Content-Type', 'application/json').send('{"login":'), 400, 'invalid_json');
    assertApiError(await api.post(`/resources/${resourceId}/challenge`, ['x']), 400, 'bad_request');
    assertApiError(await request(ctx.app).post(path).set(auth), 400, 'bad_request');
  });

  it('answers 422 for a missing, blank or wildcard login and unknown fields (SEC-21)', async () => {
    for (const body of [{}, { login: '' }, { login: '   ' }, { login: '*' }, { login: 'a%' }, { login: 42 }]) {
      const res = await api.post(`/resources/${resourceId}/challenge`, body);
      assertApiError(res, 422, 'validation_failed');
      assert.ok(res.body.error.fields.login, JSON.stringify(res.body));
    }
    const res = await api.post(`/resources/${resourceId}/challenge`, { login: 'x', otp: '123456' });
    assertApiError(res, 422, 'validation_failed');
    assert.ok(res.body.error.fields.otp);
  });

  it('answers 200 with the same body for every processed request (SEC-22)', async () => {
    const withToken = await member();
    const withoutToken = await member(false);
    const locked = await member();
    await ctx.services.db('resource_users').where({ resource_id: resourceId, user_id: locked.id }).update({ fail_count: 5, locked_until: new Date(Date.now() + 60_000) });
    const logins = [withToken.login, withToken.login /* throttled */, withoutToken.login, locked.login, 'nobody-at-all', (await createUser(ctx.services, tenant)).login];
    const responses = [];
    for (const login of logins) responses.push(await api.post(`/resources/${resourceId}/challenge`, { login }));
    for (const res of responses) {
      assert.equal(res.status, 200, res.text);
      assert.match(String(res.headers['content-type']), /application\/json/);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.text, '{"status":"sent"}');
    }
    const sent = await ctx.services.db('messages').where({ tenant_id: tenant.tenantId });
    assert.deepEqual(sent.map((m) => m.recipient), [withToken.email], 'one code, to the one user who can receive it');
  });
});
