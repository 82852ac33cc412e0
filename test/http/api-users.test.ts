import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, createUser, TEST_PASSWORD } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';

const USER_KEYS = ['blocked', 'createdAt', 'email', 'firstName', 'hasPassword', 'id', 'lastName', 'login', 'phone', 'updatedAt'];

describe('api: users', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const countUsers = async (tenantId: string) => Number((await ctx.services.db('users').where({ tenant_id: tenantId }).count('* as n').first())!.n);

  it('creates a user, never returning the password or its hash, and audits as the API key', async () => {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const res = await api.post('/users', { login: 'j.doe', email: 'J.Doe@Example.com', phone: '+14155550123', firstName: 'Jane', lastName: 'Doe', password: TEST_PASSWORD });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), USER_KEYS);
    assert.equal(res.body.login, 'j.doe');
    assert.equal(res.body.email, 'j.doe@example.com');
    assert.equal(res.body.phone, '+14155550123');
    assert.equal(res.body.hasPassword, true);
    assert.equal(res.body.blocked, false);
    assert.doesNotMatch(res.text, /argon2|horse|"password|hash/i);
    assert.equal(res.headers.location, `/api/v1/users/${res.body.id}`);

    const row = await ctx.services.db('users').where({ id: res.body.id, tenant_id: tenant.tenantId }).first();
    assert.match(row.password_hash, /^\$argon2id\$/);
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'user.create', target_id: res.body.id });
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor_type, 'api_key');
    assert.doesNotMatch(JSON.stringify(audit[0]), /horse/);

    const minimal = await api.post('/users', { login: 'bob' });
    assert.equal(minimal.status, 201);
    assert.deepEqual({ email: minimal.body.email, phone: minimal.body.phone, hasPassword: minimal.body.hasPassword }, { email: null, phone: null, hasPassword: false });
  });

  it('answers 422 with field messages for bad values, and writes nothing', async () => {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const res = await api.post('/users', { login: 'jane doe', email: 'not-an-email', phone: '555-0123' });
    assertApiError(res, 422, 'validation_failed');
    assert.match(res.body.error.fields.login, /no spaces/);
    assert.match(res.body.error.fields.email, /valid email/);
    assert.match(res.body.error.fields.phone, /international format/);

    assert.match((await api.post('/users', { login: 'short', password: 'abc' })).body.error.fields.password, /at least 8/);
    assert.match((await api.post('/users', { login: 'common', password: 'password123' })).body.error.fields.password, /too common/);
    assert.ok((await api.post('/users', {})).body.error.fields.login);
    assert.ok((await api.post('/users', { login: '   ' })).body.error.fields.login);
    assert.ok((await api.post('/users', { login: '*' })).body.error.fields.login, 'wildcard logins are refused (SEC-21)');
    const unknown = await api.post('/users', { login: 'x', passwordHash: 'x' });
    assertApiError(unknown, 422, 'validation_failed');
    assert.match(JSON.stringify(unknown.body.error.fields), /passwordHash/);
    assert.equal(await countUsers(tenant.tenantId), 0);
  });

  it('refuses a duplicate login (any case) with 409', async () => {
    const tenant = await createTenant(ctx.services);
    await createUser(ctx.services, tenant, { login: 'alice' });
    const res = await apiClient(ctx.app, tenant.apiKey).post('/users', { login: 'ALICE' });
    assertApiError(res, 409, 'conflict');
    assert.match(res.body.error.fields.login, /already has this login/);
    assert.equal(await countUsers(tenant.tenantId), 1);
  });

  it('lists and searches users with paging', async () => {
    const tenant = await createTenant(ctx.services);
    await createUser(ctx.services, tenant, { login: 'anna', email: 'anna@corp.example' });
    await createUser(ctx.services, tenant, { login: 'bert', lastName: 'Corpman' });
    await createUser(ctx.services, tenant, { login: 'carl' });
    const api = apiClient(ctx.app, tenant.apiKey);
    const all = await api.get('/users');
    assert.equal(all.body.total, 3);
    assert.deepEqual(Object.keys(all.body.items[0]).sort(), USER_KEYS);
    const corp = await api.get('/users?q=CORP');
    assert.deepEqual(corp.body.items.map((u: { login: string }) => u.login), ['anna', 'bert']);
    const second = await api.get('/users?q=corp&perPage=1&page=2');
    assert.deepEqual({ total: second.body.total, logins: second.body.items.map((u: { login: string }) => u.login) }, { total: 2, logins: ['bert'] });
  });

  it('patches some fields; password null removes the password; block and unblock', async () => {
    const tenant = await createTenant(ctx.services);
    const user = await createUser(ctx.services, tenant, { login: 'dora', password: TEST_PASSWORD, firstName: 'Dora' });
    const api = apiClient(ctx.app, tenant.apiKey);
    const res = await api.patch(`/users/${user.id}`, { email: 'dora@example.com' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.email, 'dora@example.com');
    assert.equal(res.body.firstName, 'Dora');
    assert.equal(res.body.hasPassword, true);

    const bad = await api.patch(`/users/${user.id}`, { phone: '12345', firstName: 'Changed' });
    assertApiError(bad, 422, 'validation_failed');
    assert.equal((await ctx.services.db('users').where({ id: user.id }).first()).first_name, 'Dora');

    const cleared = await api.patch(`/users/${user.id}`, { password: null });
    assert.equal(cleared.body.hasPassword, false);

    const blocked = await api.post(`/users/${user.id}/block`);
    assert.equal(blocked.status, 200);
    assert.equal(blocked.body.blocked, true);
    assert.equal((await api.get(`/users/${user.id}`)).body.blocked, true);
    assert.equal((await api.post(`/users/${user.id}/unblock`)).body.blocked, false);
    const actions = (await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, target_id: user.id, actor_type: 'api_key' }).orderBy('id')).map((a) => a.action);
    assert.deepEqual(actions, ['user.update', 'user.update', 'user.block', 'user.unblock']);
  });

  it('deletes with 204, then answers 404', async () => {
    const tenant = await createTenant(ctx.services);
    const user = await createUser(ctx.services, tenant);
    const api = apiClient(ctx.app, tenant.apiKey);
    assert.equal((await api.delete(`/users/${user.id}`)).status, 204);
    assertApiError(await api.get(`/users/${user.id}`), 404, 'not_found');
    assertApiError(await api.delete(`/users/${user.id}`), 404, 'not_found');
  });

  it("answers 404 for another tenant's user and changes nothing (SEC-20)", async () => {
    const owner = await createTenant(ctx.services);
    const intruder = await createTenant(ctx.services);
    const user = await createUser(ctx.services, owner, { login: 'victim', email: 'victim@example.com' });
    const api = apiClient(ctx.app, intruder.apiKey);
    assertApiError(await api.get(`/users/${user.id}`), 404, 'not_found');
    assertApiError(await api.patch(`/users/${user.id}`, { email: 'attacker@example.com' }), 404, 'not_found');
    assertApiError(await api.post(`/users/${user.id}/block`), 404, 'not_found');
    assertApiError(await api.get(`/users/${user.id}/resources`), 404, 'not_found');
    assertApiError(await api.delete(`/users/${user.id}`), 404, 'not_found');
    assertApiError(await api.get('/users/12345'), 404, 'not_found');
    assert.equal((await api.get('/users?q=victim')).body.total, 0);
    // The same login is free in another tenant: logins are unique per tenant only.
    assert.equal((await api.post('/users', { login: 'victim' })).status, 201);

    const row = await ctx.services.db('users').where({ id: user.id }).first();
    assert.equal(row.email, 'victim@example.com');
    assert.equal(row.blocked_at, null);
    assert.equal(row.tenant_id, owner.tenantId);
  });
});

describe('api: assignments', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const assignments = (resourceId: string) => ctx.services.db('resource_users').where({ resource_id: resourceId });

  it('assigns idempotently, lists both ways, and unassigns', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant, { name: 'VPN' });
    const user = await createUser(ctx.services, tenant, { login: 'erin' });
    const api = apiClient(ctx.app, tenant.apiKey);

    assert.equal((await api.put(`/resources/${resource.id}/users/${user.id}`)).status, 204);
    assert.equal((await api.put(`/resources/${resource.id}/users/${user.id}`)).status, 204, 'a second assign is harmless');
    assert.equal((await assignments(resource.id)).length, 1);
    const audited = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.user.assign', target_id: user.id });
    assert.equal(audited.length, 1, 'audited once, when it changed something');
    assert.equal(audited[0].actor_type, 'api_key');

    const assigned = await api.get(`/resources/${resource.id}/users`);
    assert.equal(assigned.status, 200);
    assert.equal(assigned.body.total, 1);
    assert.equal(assigned.body.items[0].login, 'erin');
    const ofUser = await api.get(`/users/${user.id}/resources`);
    assert.equal(ofUser.body.items.length, 1);
    assert.deepEqual({ ...ofUser.body.items[0], assignedAt: undefined }, { resourceId: resource.id, resourceName: 'VPN', failCount: 0, locked: false, lockedUntil: null, assignedAt: undefined });

    assert.equal((await api.delete(`/resources/${resource.id}/users/${user.id}`)).status, 204);
    assert.equal((await api.get(`/resources/${resource.id}/users`)).body.total, 0);
    assertApiError(await api.delete(`/resources/${resource.id}/users/${user.id}`), 404, 'not_found');
    assert.equal((await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.user.unassign', target_id: user.id })).length, 1);
  });

  it('pages the users of a resource', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant);
    for (const login of ['u1', 'u2', 'u3']) {
      const user = await createUser(ctx.services, tenant, { login });
      await ctx.services.users.assign(tenant.actor, resource.id, user.id);
    }
    const res = await apiClient(ctx.app, tenant.apiKey).get(`/resources/${resource.id}/users?perPage=2&page=2`);
    assert.deepEqual({ total: res.body.total, page: res.body.page, logins: res.body.items.map((u: { login: string }) => u.login) }, { total: 3, page: 2, logins: ['u3'] });
  });

  it("answers 404 when either side belongs to another tenant, and assigns nothing (SEC-20)", async () => {
    const owner = await createTenant(ctx.services);
    const intruder = await createTenant(ctx.services);
    const ownResource = await createResource(ctx.services, owner);
    const ownUser = await createUser(ctx.services, owner);
    const foreignUser = await createUser(ctx.services, intruder);
    const foreignResource = await createResource(ctx.services, intruder);
    const api = apiClient(ctx.app, owner.apiKey);

    assertApiError(await api.put(`/resources/${ownResource.id}/users/${foreignUser.id}`), 404, 'not_found');
    assertApiError(await api.put(`/resources/${foreignResource.id}/users/${ownUser.id}`), 404, 'not_found');
    assertApiError(await api.put(`/resources/${ownResource.id}/users/not-a-uuid`), 404, 'not_found');
    assert.equal((await assignments(ownResource.id)).length, 0);
    assert.equal((await assignments(foreignResource.id)).length, 0);

    // The intruder's key cannot see, make or undo the owner's assignments.
    await ctx.services.users.assign(owner.actor, ownResource.id, ownUser.id);
    const intruderApi = apiClient(ctx.app, intruder.apiKey);
    assertApiError(await intruderApi.get(`/resources/${ownResource.id}/users`), 404, 'not_found');
    assertApiError(await intruderApi.delete(`/resources/${ownResource.id}/users/${ownUser.id}`), 404, 'not_found');
    assertApiError(await intruderApi.put(`/resources/${ownResource.id}/users/${foreignUser.id}`), 404, 'not_found');
    assertApiError(await intruderApi.put(`/resources/${foreignResource.id}/users/${ownUser.id}`), 404, 'not_found');
    assert.deepEqual((await assignments(ownResource.id)).map((a) => a.user_id), [ownUser.id]);
    assert.equal((await assignments(foreignResource.id)).length, 0);
  });
});
