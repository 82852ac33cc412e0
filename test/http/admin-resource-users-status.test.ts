/**
 * Issue 15 §9: the resource's Users tab shows per member the enrolled tokens, the lock (with
 * Unlock, a CSRF-protected POST) and the last sign-in; unlock is audited, writers only, in scope.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createResource, createTenant, createUser } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { csrfOf, postForm, signIn } from '../helpers/admin-agent';
import { memberIn } from '../helpers/enrollment-states';
import { scopedTenant } from '../helpers/resource-scope';

/** The table row of `login` in the tab's HTML. */
function rowOf(html: string, login: string): string {
  const rows = html.split('<tr>').filter((r) => r.includes(`>${login}</a>`));
  assert.equal(rows.length, 1, `one row for ${login}`);
  return rows[0];
}

describe('resource Users tab: tokens, lock, last sign-in', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('shows enrolled tokens, last sign-in and a lock from real wrong codes; Unlock clears it and is audited', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { failedAttemptsLimit: 3, lockMinutes: 15 });
    const enrolled = await memberIn(s, tenant, resource.id, 'enrolled');
    const locked = await memberIn(s, tenant, resource.id, 'enrolled');
    const fresh = await memberIn(s, tenant, resource.id, 'not_invited');
    const usedAt = new Date('2026-12-01T08:30:00Z');
    await s.db('tokens').where({ tenant_id: tenant.tenantId, user_id: enrolled.id }).update({ last_used_at: usedAt });
    const api = apiClient(ctx.app, tenant.apiKey);
    for (let i = 0; i < 3; i++) await api.post(`/resources/${resource.id}/authenticate`, { login: locked.login, otp: '000000' });

    const agent = await signIn(ctx.app, tenant);
    const tab = `/admin/resources/${resource.id}/users`;
    const page = await agent.get(tab);
    assert.equal(page.status, 200);
    for (const head of ['Tokens', 'Locked until', 'Last sign-in', 'Invitation']) assert.match(page.text, new RegExp(`<th scope="col">${head}</th>`));
    const a = rowOf(page.text, enrolled.login);
    assert.match(a, /class="user-tokens">1</);
    assert.match(a, /<time datetime="2026-12-01T08:30:00.000Z">2026-12-01 08:30 UTC<\/time>/);
    assert.match(a, /Not locked/);
    const b = rowOf(page.text, locked.login);
    assert.match(b, /Locked<\/span> <time datetime=/);
    assert.match(b, new RegExp(`action="/admin/resources/${resource.id}/users/${locked.id}/unlock"`));
    const c = rowOf(page.text, fresh.login);
    assert.match(c, /class="user-tokens">0</);
    assert.match(c, /Never/);

    // Without the CSRF token nothing changes.
    const forged = await agent.post(`${tab}/${locked.id}/unlock`).type('form').send({});
    assert.equal(forged.status, 403);
    assert.ok((await s.db('resource_users').where({ resource_id: resource.id, user_id: locked.id }).first()).locked_until);

    const done = await postForm(agent, tab, `${tab}/${locked.id}/unlock`, {});
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, tab);
    const row = await s.db('resource_users').where({ resource_id: resource.id, user_id: locked.id }).first();
    assert.equal(row.locked_until, null);
    assert.equal(row.fail_count, 0);
    const audit = await s.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.user.unlock', target_id: locked.id }).first();
    assert.equal(audit.resource_id, resource.id);
    assert.doesNotMatch(rowOf((await agent.get(tab)).text, locked.login), /\/unlock"/);
  });

  it('a lock until unlocked reads "until unlocked"; an auditor sees it without an Unlock button and is refused', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { failedAttemptsLimit: 3, lockMinutes: 0 });
    const user = await memberIn(s, tenant, resource.id, 'enrolled');
    for (let i = 0; i < 3; i++) await apiClient(ctx.app, tenant.apiKey).post(`/resources/${resource.id}/authenticate`, { login: user.login, otp: '000000' });
    const auditor = await addAdmin(s, tenant, 'auditor');
    const agent = await signIn(ctx.app, auditor);
    const tab = `/admin/resources/${resource.id}/users`;
    const row = rowOf((await agent.get(tab)).text, user.login);
    assert.match(row, /Locked<\/span> until unlocked/);
    assert.doesNotMatch(row, /\/unlock"/);
    const refused = await agent.post(`${tab}/${user.id}/unlock`).type('form').set('x-csrf-token', await csrfOf(agent, tab)).send({});
    assert.equal(refused.status, 403);
    assert.ok((await s.db('resource_users').where({ resource_id: resource.id, user_id: user.id }).first()).locked_until);
  });

  it('unlock is 404 for another tenant\'s user, a user not assigned, and a resource outside a limited admin\'s scope', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    const other = await createTenant(s);
    const foreign = await createUser(s, other);
    const loose = await createUser(s, tenant);
    const agent = await signIn(ctx.app, tenant);
    const tab = `/admin/resources/${resource.id}/users`;
    assert.equal((await postForm(agent, tab, `${tab}/${foreign.id}/unlock`, {})).status, 404);
    assert.equal((await postForm(agent, tab, `${tab}/${loose.id}/unlock`, {})).status, 404);
    assert.equal((await postForm(agent, tab, `${tab}/not-a-uuid/unlock`, {})).status, 404);

    const w = await scopedTenant(s);
    const limited = await signIn(ctx.app, w.limited);
    const inScope = `/admin/resources/${w.r1.id}/users`;
    assert.equal((await limited.get(inScope)).status, 200);
    assert.equal((await postForm(limited, inScope, `/admin/resources/${w.r2.id}/users/${w.users.u2.id}/unlock`, {})).status, 404);
  });
});
