/**
 * Issue 12 §5 in the console: an admin limited to R1, signed in, sees R1, its users and tokens,
 * and gets 404 for every page and action on anything else (GET and POST); tenant-wide pages are
 * 404 and out of the menu; the audit log is filtered; the owner's form sets and lifts the limit,
 * which applies at the admin's next request.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, unique } from '../helpers/factories';
import { csrfOf, postForm, signIn, type Agent } from '../helpers/admin-agent';
import { scopedTenant, type ScopedTenant } from '../helpers/resource-scope';

describe('console: admin limited to selected resources (issue 12 §5)', () => {
  let ctx: TestContext;
  let t: ScopedTenant;
  let agent: Agent;
  let csrf: string;
  before(async () => {
    ctx = await createTestContext();
    t = await scopedTenant(ctx.services);
    // Events of R2 that the limited admin must not see in the audit log.
    await ctx.services.resources.update(t.owner.actor, t.r2.id, { description: 'owner change' });
    agent = await signIn(ctx.app, t.limited);
    csrf = await csrfOf(agent, '/admin/resources');
  });
  after(() => ctx.close());

  const post = (path: string, fields: Record<string, string> = {}) => agent.post(path).type('form').send({ _csrf: csrf, ...fields });

  it('lists show only R1, its users and its tokens; detail pages in scope answer 200', async () => {
    const resources = await agent.get('/admin/resources');
    assert.equal(resources.status, 200);
    assert.ok(resources.text.includes(t.r1.name) && !resources.text.includes(t.r2.name));

    const users = await agent.get('/admin/users');
    assert.ok(users.text.includes(t.users.u1.login) && users.text.includes(t.users.u12.login));
    assert.ok(!users.text.includes(t.users.u2.login) && !users.text.includes(t.users.u0.login));
    assert.ok(!(await agent.get(`/admin/users?q=${t.users.u2.login}`)).text.includes(`/admin/users/${t.users.u2.id}`), 'search stays in scope');

    const tokens = await agent.get('/admin/tokens');
    assert.ok(tokens.text.includes(t.tokens.t1.serial) && tokens.text.includes(t.tokens.t12.serial));
    for (const other of [t.tokens.t2, t.tokens.t12b, t.tokens.tStock]) assert.ok(!tokens.text.includes(other.serial), `${other.serial} hidden`);
    assert.ok(!tokens.text.includes('value="stock"'), 'no stock filter');

    for (const path of [`/admin/resources/${t.r1.id}`, `/admin/resources/${t.r1.id}/users`, `/admin/resources/${t.r1.id}/self-service`, `/admin/resources/${t.r1.id}/users.csv`, `/admin/users/${t.users.u1.id}`, `/admin/tokens/${t.tokens.t12.id}`, '/admin/audit', '/admin/users/new', '/admin/tokens/new']) {
      assert.equal((await agent.get(path)).status, 200, path);
    }
  });

  it("a user in both resources shows only R1's assignment and tokens; R2 never appears", async () => {
    const page = await agent.get(`/admin/users/${t.users.u12.id}`);
    assert.equal(page.status, 200);
    assert.ok(page.text.includes(t.r1.name));
    assert.ok(!page.text.includes(t.r2.name), 'R2 is not named');
    assert.ok(page.text.includes(t.tokens.t12.serial) && !page.text.includes(t.tokens.t12b.serial));
    const token = await agent.get(`/admin/tokens/${t.tokens.t12.id}`);
    assert.ok(token.text.includes(t.r1.name) && !token.text.includes(t.r2.name));
    assert.ok(!token.text.includes(`action="/admin/tokens/${t.tokens.t12.id}/owner"`), 'no owner change offered');
    assert.match(token.text, /A new owner would take this token out of its resources/);
  });

  it('every page of R2, its users and tokens answers 404 (GET)', async () => {
    const { r2 } = t;
    const { u2, u0 } = t.users;
    const { t2, t12b, tStock } = t.tokens;
    const paths = [
      `/admin/resources/${r2.id}`, `/admin/resources/${r2.id}/users`, `/admin/resources/${r2.id}/users/progress`, `/admin/resources/${r2.id}/users.csv`, `/admin/resources/${r2.id}/self-service`,
      `/admin/resources/${r2.id}/self-service/actions`, `/admin/resources/${r2.id}/self-service/enrollment`, `/admin/resources/${r2.id}/delete`,
      `/admin/users/${u2.id}`, `/admin/users/${u2.id}/delete`, `/admin/users/${u0.id}`,
      `/admin/tokens/${t2.id}`, `/admin/tokens/${t2.id}/created`, `/admin/tokens/${t2.id}/delete`, `/admin/tokens/${t12b.id}`, `/admin/tokens/${tStock.id}`,
    ];
    for (const path of paths) {
      const res = await agent.get(path);
      assert.equal(res.status, 404, path);
      assert.ok(!res.text.includes(r2.name), `${path} does not name R2`);
    }
  });

  it('every action on R2, its users and tokens answers 404 (POST) and changes nothing', async () => {
    const { r1, r2 } = t;
    const { u1, u2, u12 } = t.users;
    const { t2 } = t.tokens;
    const before = await ctx.services.db('audit_events').where({ tenant_id: t.owner.tenantId }).count<{ count: string }[]>('* as count');
    const actions: Array<[string, Record<string, string>?]> = [
      [`/admin/resources/${r2.id}`, { name: 'Renamed' }], [`/admin/resources/${r2.id}/delete`], [`/admin/resources/${r2.id}/users`, { login: u1.login }],
      [`/admin/resources/${r2.id}/users/${u12.id}/unassign`], [`/admin/resources/${r2.id}/invitations`, { userIds: u2.id }],
      [`/admin/resources/${r2.id}/invitations/${u2.id}/resend`], [`/admin/resources/${r2.id}/invitations/${u2.id}/cancel`],
      [`/admin/resources/${r2.id}/self-service`, { address: unique('beta').toLowerCase() }], [`/admin/resources/${r2.id}/self-service/actions`], [`/admin/resources/${r2.id}/self-service/enrollment`],
      [`/admin/users/${u2.id}`, { login: u2.login, firstName: 'X' }], [`/admin/users/${u2.id}/block`], [`/admin/users/${u2.id}/unblock`], [`/admin/users/${u2.id}/delete`],
      [`/admin/users/${u2.id}/resources`, { resourceId: r1.id }], [`/admin/users/${u1.id}/resources`, { resourceId: r2.id }],
      [`/admin/users/${u12.id}/resources/${r2.id}/unassign`], [`/admin/users/${u12.id}/resources/${r2.id}/unlock`],
      [`/admin/tokens/${t2.id}`, { name: 'x' }], [`/admin/tokens/${t2.id}/enable`], [`/admin/tokens/${t2.id}/disable`], [`/admin/tokens/${t2.id}/pin`, { pin: '1234' }],
      [`/admin/tokens/${t2.id}/pin/clear`], [`/admin/tokens/${t2.id}/resync`, { code1: '123456', code2: '234567' }], [`/admin/tokens/${t2.id}/drift/reset`],
      [`/admin/tokens/${t2.id}/failures/reset`], [`/admin/tokens/${t2.id}/owner`, { login: u1.login }], [`/admin/tokens/${t2.id}/owner/remove`],
      [`/admin/tokens/${t2.id}/resources`, { resourceId: r1.id }], [`/admin/tokens/${t2.id}/resources/${r2.id}/unassign`], [`/admin/tokens/${t2.id}/delete`],
      [`/admin/tokens/${t.tokens.t12.id}/resources/${r2.id}/unassign`],
    ];
    for (const [path, fields] of actions) assert.equal((await post(path, fields)).status, 404, path);
    const afterCount = await ctx.services.db('audit_events').where({ tenant_id: t.owner.tenantId }).count<{ count: string }[]>('* as count');
    assert.equal(afterCount[0].count, before[0].count, 'no change was recorded');
    assert.equal((await ctx.services.tokens.get(t.owner.actor, t2.id)).enabled, true);
    assert.equal((await ctx.services.users.get(t.owner.actor, u2.id)).blocked, false);
  });

  it('in-scope actions work: a user created with R1, a token created in R1, a token disabled', async () => {
    const refused = await post('/admin/users', { login: unique('nores') });
    assert.equal(refused.status, 422);
    assert.match(refused.text, /Choose at least one of your resources/);
    const login = unique('made');
    const made = await post('/admin/users', { login, resourceIds: t.r1.id });
    assert.equal(made.status, 303);
    const user = (await ctx.services.users.findByLogin(t.owner.actor, login))!;
    assert.deepEqual((await ctx.services.users.assignmentsOf(t.owner.actor, user.id)).map((a) => a.resourceId), [t.r1.id]);

    const noResource = await post('/admin/tokens', { type: 'totp', owner: login });
    assert.equal(noResource.status, 422);
    assert.match(noResource.text, /one of your resources/);
    const created = await post('/admin/tokens', { type: 'totp', owner: login, resourceId: t.r1.id });
    assert.equal(created.status, 303);
    const tokenId = String(created.headers.location).split('/')[3];
    assert.deepEqual((await ctx.services.tokens.resourcesOf(t.owner.actor, tokenId)).map((r) => r.id), [t.r1.id]);

    assert.equal((await post(`/admin/tokens/${t.tokens.t1.id}/disable`)).status, 303);
    assert.equal((await ctx.services.tokens.get(t.owner.actor, t.tokens.t1.id)).enabled, false);
    assert.equal((await post(`/admin/resources`, { name: unique('Mine') })).status, 403, 'creating a resource is refused');
    assert.equal((await post(`/admin/tokens/${t.tokens.t1.id}/owner`, { login: t.users.u12.login })).status, 403, 'changing the owner is refused');
    assert.equal((await ctx.services.tokens.get(t.owner.actor, t.tokens.t1.id)).userId, t.users.u1.id);
  });

  it('tenant-wide pages (imports, stock, Outbox) answer 404 and are not offered', async () => {
    const anImport = await ctx.services.userImports.startImport(t.owner.actor, { filename: 'u.csv', content: Buffer.from(`login\n${unique('imp')}\n`), updateExisting: false });
    const message = await ctx.services.messages.send(t.owner.tenantId, { recipient: 'x@example.test', subject: 'Hi', bodyText: 'Hello' });
    for (const path of ['/admin/tokens/import', '/admin/users/import', `/admin/users/imports/${anImport.id}`, `/admin/users/imports/${anImport.id}/report.csv`, '/admin/outbox', `/admin/outbox/${message.id}`, '/admin/tokens?status=stock']) {
      assert.equal((await agent.get(path)).status, 404, path);
    }
    for (const path of ['/admin/tokens/import', '/admin/users/import']) {
      const res = await agent.post(path).set('x-csrf-token', csrf).attach('file', Buffer.from('login\nx\n'), 'x.csv');
      assert.equal(res.status, 404, path);
    }
    const page = await agent.get('/admin/users');
    assert.ok(!page.text.includes('href="/admin/outbox"'), 'no Outbox in the menu');
    assert.ok(!page.text.includes('href="/admin/users/import"'), 'no user import button');
    assert.ok(!(await agent.get('/admin/tokens')).text.includes('href="/admin/tokens/import"'), 'no token import button');
  });

  it('the audit log shows only events of R1', async () => {
    const page = await agent.get('/admin/audit?perPage=100');
    assert.equal(page.status, 200);
    assert.ok(page.text.includes(t.r1.name), 'R1 creation is listed');
    assert.ok(!page.text.includes(t.r2.name), 'no R2 event');
    assert.ok(!page.text.includes('title="admin.resources.change"'), 'tenant-wide events are not listed');
  });
});

describe('console: the owner limits an admin (issue 12 §5)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('the Admins page form sets and lifts the limit, audited, and it applies at the next request', async () => {
    const t = await scopedTenant(ctx.services);
    const owner = await signIn(ctx.app, t.owner);
    const limited = await signIn(ctx.app, t.limited);
    assert.equal((await limited.get(`/admin/resources/${t.r2.id}`)).status, 404);

    const list = await owner.get('/admin/admins');
    assert.match(list.text, new RegExp(`href="/admin/admins/${t.limited.adminId}/resources"`));
    const form = await owner.get(`/admin/admins/${t.limited.adminId}/resources`);
    assert.equal(form.status, 200);
    assert.match(form.text, /<legend>Resources this admin manages<\/legend>/);
    assert.match(form.text, new RegExp(`<input type="checkbox" id="f-scope-resource-${t.r1.id}" name="resourceIds" value="${t.r1.id}" checked>`));
    assert.match(form.text, new RegExp(`<label for="f-scope-resource-${t.r2.id}">${t.r2.name}</label>`));
    assert.match(form.text, /id="f-scope-selected" name="scope" value="selected"[^>]* checked/);

    // Only R2 now: at the admin's very next request, R1 is gone and R2 is there.
    const set = await postForm(owner, `/admin/admins/${t.limited.adminId}/resources`, `/admin/admins/${t.limited.adminId}/resources`, { scope: 'selected', resourceIds: t.r2.id });
    assert.equal(set.status, 303);
    assert.equal((await limited.get(`/admin/resources/${t.r1.id}`)).status, 404);
    assert.equal((await limited.get(`/admin/resources/${t.r2.id}`)).status, 200);
    const event = await ctx.services.db('audit_events').where({ tenant_id: t.owner.tenantId, action: 'admin.resources.change' }).orderBy('id', 'desc').first();
    assert.deepEqual(event.details.to, { limited: true, resourceIds: [t.r2.id] });

    // "All resources": every resource again.
    assert.equal((await postForm(owner, `/admin/admins/${t.limited.adminId}/resources`, `/admin/admins/${t.limited.adminId}/resources`, { scope: 'all', resourceIds: t.r2.id })).status, 303);
    assert.equal((await limited.get(`/admin/resources/${t.r1.id}`)).status, 200);
    assert.ok((await limited.get('/admin/outbox')).status === 200);
    assert.match((await owner.get('/admin/admins')).text, /now manages all resources/);

    // Limited to none: the admin sees an empty console.
    assert.equal((await postForm(owner, `/admin/admins/${t.limited.adminId}/resources`, `/admin/admins/${t.limited.adminId}/resources`, { scope: 'selected' })).status, 303);
    const empty = await limited.get('/admin/resources');
    assert.ok(!empty.text.includes(t.r1.name) && !empty.text.includes(t.r2.name));
    assert.match((await owner.get('/admin/admins')).text, /<span class="badge danger">None<\/span>/);
  });

  it('the scope form offers every resource of a large tenant, and shows the ones an admin has ticked (no cap at 100)', async () => {
    const t = await scopedTenant(ctx.services);
    await ctx.services.db('resources').insert(Array.from({ length: 120 }, (_, i) => ({ tenant_id: t.owner.tenantId, name: `Aaa bulk ${String(i).padStart(3, '0')}` })));
    const last = await ctx.services.resources.create(t.owner.actor, { name: 'Zzz last resource' });
    await ctx.services.admins.setResourceScope(t.owner.actor, t.limited.adminId, { limited: true, resourceIds: [last.id] });
    const owner = await signIn(ctx.app, t.owner);
    const form = await owner.get(`/admin/admins/${t.limited.adminId}/resources`);
    assert.match(form.text, new RegExp(`<input type="checkbox" id="f-scope-resource-${last.id}" name="resourceIds" value="${last.id}" checked>`), 'a resource past the first 100 by name is offered, ticked');
  });

  it('refusals: an auditor cannot be limited (422 with the reason); a non-owner gets 403; CSRF is required', async () => {
    const t = await scopedTenant(ctx.services);
    const owner = await signIn(ctx.app, t.owner);
    const auditor = await addAdmin(ctx.services, t.owner, 'auditor');
    const path = `/admin/admins/${auditor.adminId}/resources`;
    const refused = await postForm(owner, path, path, { scope: 'selected', resourceIds: t.r1.id });
    assert.equal(refused.status, 422);
    assert.match(refused.text, /Only admins can be limited/);
    assert.equal((await owner.post(path).type('form').send({ scope: 'all' })).status, 403, 'no CSRF token');

    const limited = await signIn(ctx.app, t.limited);
    const self = `/admin/admins/${t.limited.adminId}/resources`;
    assert.equal((await limited.post(self).type('form').send({ _csrf: await csrfOf(limited, '/admin/resources'), scope: 'all' })).status, 403);
    assert.equal((await limited.get(self)).status, 403);
    assert.equal((await limited.get(`/admin/resources/${t.r2.id}`)).status, 404, 'still limited');
  });

  it('an owner invites an admin limited to selected resources', async () => {
    const t = await scopedTenant(ctx.services);
    const owner = await signIn(ctx.app, t.owner);
    const page = await owner.get('/admin/admins');
    assert.match(page.text, /id="f-invite-scope-selected"/);
    const email = `${unique('scoped')}@example.test`;
    const sent = await postForm(owner, '/admin/admins', '/admin/admins', { email, role: 'admin', scope: 'selected', resourceIds: t.r1.id });
    assert.equal(sent.status, 303);
    const row = await ctx.services.db('admins').where({ tenant_id: t.owner.tenantId, email }).first();
    assert.equal(row.limited_to_resources, true);
    assert.deepEqual(await ctx.services.db('admin_resources').where({ admin_id: row.id }).pluck('resource_id'), [t.r1.id]);
  });
});
