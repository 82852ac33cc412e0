import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, addAdmin } from '../helpers/factories';
import { postForm, signIn } from '../helpers/admin-agent';

describe('console: resources', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('creates a resource with defaults and audits it in the same transaction', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await postForm(agent, '/admin/resources/new', '/admin/resources', { name: 'Corporate VPN', description: 'OpenVPN gateway', failedAttemptsLimit: '', lockMinutes: '', requireSecondFactor: '0' });
    assert.equal(res.status, 303);
    const id = String(res.headers.location).split('/').pop()!;
    const row = await ctx.services.db('resources').where({ id, tenant_id: tenant.tenantId }).first();
    assert.equal(row.name, 'Corporate VPN');
    assert.equal(row.failed_attempts_limit, 5);
    assert.equal(row.lock_minutes, 5);
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.create', target_id: id });
    assert.equal(audit.length, 1);
    const page = await agent.get(`/admin/resources/${id}`);
    assert.match(page.text, /Corporate VPN/);
  });

  it('re-renders the form with field messages for bad input, and writes nothing', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await postForm(agent, '/admin/resources/new', '/admin/resources', { name: '', failedAttemptsLimit: '11', lockMinutes: 'abc' });
    assert.equal(res.status, 422);
    assert.match(res.text, /Enter a name/);
    assert.match(res.text, /Use a number from 3 to 10/);
    const count = await ctx.services.db('resources').where({ tenant_id: tenant.tenantId }).count('* as n').first();
    assert.equal(Number(count!.n), 0);
  });

  it('refuses a duplicate name with a clear message', async () => {
    const tenant = await createTenant(ctx.services);
    await createResource(ctx.services, tenant, { name: 'Wiki' });
    const agent = await signIn(ctx.app, tenant);
    const res = await postForm(agent, '/admin/resources/new', '/admin/resources', { name: 'wiki' });
    assert.equal(res.status, 422 === res.status ? 422 : 409);
    assert.match(res.text, /already exists/);
  });

  it("answers 404 for another tenant's resource (SEC-20)", async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const foreign = await createResource(ctx.services, b);
    const agent = await signIn(ctx.app, a);
    assert.equal((await agent.get(`/admin/resources/${foreign.id}`)).status, 404);
    assert.equal((await agent.get('/admin/resources/not-a-uuid')).status, 404);
    const res = await postForm(agent, '/admin/resources', `/admin/resources/${foreign.id}/delete`, {});
    assert.equal(res.status, 404);
    assert.ok(await ctx.services.db('resources').where({ id: foreign.id }).first());
  });

  it('lets an auditor read but not change', async () => {
    const owner = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, owner);
    const auditor = await addAdmin(ctx.services, owner, 'auditor');
    const agent = await signIn(ctx.app, auditor);
    assert.equal((await agent.get(`/admin/resources/${resource.id}`)).status, 200);
    const res = await postForm(agent, '/admin/resources', `/admin/resources/${resource.id}/delete`, {});
    assert.equal(res.status, 403);
    assert.ok(await ctx.services.db('resources').where({ id: resource.id }).first());
  });

  it('refuses a form post without a CSRF token (SEC-19)', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await agent.post('/admin/resources').type('form').send({ name: 'No token' });
    assert.equal(res.status, 403);
    assert.doesNotMatch(res.text, /at .*\.ts:\d+/);
  });
});
