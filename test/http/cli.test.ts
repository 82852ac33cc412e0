/** CLI → API: the operator creates a tenant on the command line, then its key drives the API. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { TEST_PASSWORD, unique } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { lastLine, runCli } from '../helpers/cli';


describe('cli: tenant:create', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('creates a tenant whose key creates a resource and a user and assigns them', async () => {
    const email = `${unique('cli')}@example.test`;
    const name = unique('Acme');
    const run = await runCli(['tenant:create', '--name', name, '--admin-email', email, '--admin-password', TEST_PASSWORD]);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(lastLine(run.stdout));
    assert.deepEqual(Object.keys(out).sort(), ['adminId', 'apiKey', 'tenantId']);
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(TEST_PASSWORD), 'the password is never echoed');

    const tenant = await ctx.services.db('tenants').where({ id: out.tenantId }).first();
    assert.equal(tenant.name, name);
    const admin = await ctx.services.db('admins').where({ id: out.adminId, tenant_id: out.tenantId }).first();
    assert.deepEqual({ email: admin.email, role: admin.role }, { email, role: 'owner' });

    const api = apiClient(ctx.app, out.apiKey);
    const resource = await api.post('/resources', { name: 'VPN' });
    assert.equal(resource.status, 201, resource.text);
    const user = await api.post('/users', { login: 'first.user', email: 'first.user@example.test' });
    assert.equal(user.status, 201, user.text);
    assert.equal((await api.put(`/resources/${resource.body.id}/users/${user.body.id}`)).status, 204);
    const assigned = await api.get(`/resources/${resource.body.id}/users`);
    assert.deepEqual(assigned.body.items.map((u: { id: string }) => u.id), [user.body.id]);

    assert.equal((await request(ctx.app).get(`/api/v1/resources/${resource.body.id}`)).status, 401, 'no key → 401');
    const other = await runCli(['tenant:create', '--name', unique('Other'), '--admin-email', `${unique('cli')}@example.test`, '--admin-password', TEST_PASSWORD]);
    assert.equal(other.code, 0, other.stderr);
    const otherApi = apiClient(ctx.app, JSON.parse(lastLine(other.stdout)).apiKey);
    assert.equal((await otherApi.get(`/resources/${resource.body.id}`)).status, 404, "a second tenant's key → 404");
    assert.equal((await otherApi.get(`/users/${user.body.id}`)).status, 404);
    assert.equal((await otherApi.delete(`/resources/${resource.body.id}/users/${user.body.id}`)).status, 404);
    assert.equal((await api.get(`/resources/${resource.body.id}/users`)).body.total, 1);
  });

  it('exits non-zero with the usage on stderr when arguments are missing or unknown', async () => {
    const [missing, unknown] = await Promise.all([
      runCli(['tenant:create', '--name', 'No admin']),
      runCli(['tenant:create', '--name', 'X', '--admin-email', 'x@example.test', '--admin-password', TEST_PASSWORD, '--colour', 'red']),
    ]);
    for (const run of [missing, unknown]) {
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /Usage:[\s\S]*tenant:create --name NAME --admin-email EMAIL --admin-password PASSWORD/);
      assert.doesNotMatch(run.stderr, /at .*\.(ts|js):\d+/, 'no stack trace');
      assert.equal(run.stdout.trim(), '');
    }
    assert.match(unknown.stderr, /--colour/);
  });

  it('refuses a weak password with a clear message and creates nothing', async () => {
    const email = `${unique('weak')}@example.test`;
    const run = await runCli(['tenant:create', '--name', unique('Weak'), '--admin-email', email, '--admin-password', 'password']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /password: This password is too common/);
    assert.doesNotMatch(run.stderr, /at .*\.(ts|js):\d+/);
    assert.equal(await ctx.services.db('admins').where({ email }).first(), undefined);
  });
});
