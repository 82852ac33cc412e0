import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, createUser, addAdmin, unique, type TestTenant } from '../helpers/factories';
import { postForm, signIn } from '../helpers/admin-agent';

const NO_STACK = /at .*\.ts:\d+/;

describe('console: users', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const userRow = (tenant: TestTenant, id: string) => ctx.services.db('users').where({ tenant_id: tenant.tenantId, id }).first();
  const auditOf = (tenant: TestTenant, action: string, targetId: string) =>
    ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action, target_id: targetId });
  const userCount = async (tenant: TestTenant) => Number((await ctx.services.db('users').where({ tenant_id: tenant.tenantId }).count('* as n').first())!.n);

  it('creates a user with a hashed initial password and audits it', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await postForm(agent, '/admin/users/new', '/admin/users', {
      login: 'alice', email: ' Alice@Example.test ', phone: '+14155550123', firstName: 'Alice', lastName: 'Liddell', password: 'a long enough secret',
    });
    assert.equal(res.status, 303);
    const id = String(res.headers.location).split('/').pop()!;
    const row = await userRow(tenant, id);
    assert.equal(row.login, 'alice');
    assert.equal(row.email, 'alice@example.test');
    assert.equal(row.phone, '+14155550123');
    assert.match(row.password_hash, /^\$argon2id\$/);
    assert.equal((await auditOf(tenant, 'user.create', id)).length, 1);
    const page = await agent.get(`/admin/users/${id}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /User &quot;alice&quot; created\.|User "alice" created\./);
    assert.doesNotMatch(page.text, /a long enough secret/);
  });

  it('re-renders the form with field messages for bad input, and writes nothing', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await postForm(agent, '/admin/users/new', '/admin/users', { login: 'has space', email: 'not-an-email', phone: '0415', firstName: '', lastName: '', password: '' });
    assert.equal(res.status, 422);
    assert.match(res.text, /id="f-login-error">Use letters, digits/);
    assert.match(res.text, /id="f-email-error">Enter a valid email address/);
    assert.match(res.text, /id="f-phone-error">Enter the number in international format/);
    assert.match(res.text, /value="has space"/, 'keeps what was typed');
    assert.equal(await userCount(tenant), 0);

    const weak = await postForm(agent, '/admin/users/new', '/admin/users', { login: 'bob', password: 'short' });
    assert.equal(weak.status, 422);
    assert.match(weak.text, /id="f-password-error">Use at least 8 characters/);
    assert.doesNotMatch(weak.text, /value="short"/, 'never echoes a password');
    const blank = await postForm(agent, '/admin/users/new', '/admin/users', { login: '' });
    assert.equal(blank.status, 422);
    assert.match(blank.text, /Enter a login\./);
    assert.equal(await userCount(tenant), 0);
    const none = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'user.create' });
    assert.equal(none.length, 0);
  });

  it('refuses a duplicate login whatever its case, with the message on the login field', async () => {
    const tenant = await createTenant(ctx.services);
    await createUser(ctx.services, tenant, { login: 'Carol' });
    const agent = await signIn(ctx.app, tenant);
    const res = await postForm(agent, '/admin/users/new', '/admin/users', { login: 'carol', email: 'carol2@example.test' });
    assert.equal(res.status, 422);
    assert.match(res.text, /id="f-login-error">Another user already has this login\./);
    assert.equal(await userCount(tenant), 1);
  });

  it('searches by email and by name, pages, and answers htmx with the table alone', async () => {
    const tenant = await createTenant(ctx.services);
    for (let i = 0; i < 30; i++) {
      await createUser(ctx.services, tenant, { login: `member${String(i).padStart(2, '0')}`, email: `m${i}@corp.test` });
    }
    await createUser(ctx.services, tenant, { login: 'zed', firstName: 'Zebulon', lastName: 'Quartermaine', email: 'zq@elsewhere.test' });
    const agent = await signIn(ctx.app, tenant);

    const byEmail = await agent.get('/admin/users?q=ELSEWHERE.test');
    assert.equal(byEmail.status, 200);
    assert.match(byEmail.text, />zed</);
    assert.doesNotMatch(byEmail.text, />member00</);
    const byName = await agent.get('/admin/users?q=quarterm');
    assert.match(byName.text, />zed</);
    assert.match(byName.text, /Zebulon Quartermaine/);
    const nothing = await agent.get('/admin/users?q=nobody-like-this');
    assert.match(nothing.text, /No user matches/);

    const page2 = await agent.get('/admin/users?q=corp.test&perPage=10&page=2');
    assert.equal(page2.status, 200);
    assert.equal((page2.text.match(/data-label="Login"/g) ?? []).length, 10);
    assert.match(page2.text, />member10</);
    assert.doesNotMatch(page2.text, />member09</);
    assert.match(page2.text, /Page 2 of 3 \(30 in all\)/);
    assert.match(page2.text, /href="\/admin\/users\?q=corp.test&amp;perPage=10&amp;page=3"/, 'pager keeps the search and page size');

    const fragment = await agent.get('/admin/users?q=zed').set('HX-Request', 'true');
    assert.equal(fragment.status, 200);
    assert.doesNotMatch(fragment.text, /<html/);
    assert.match(fragment.text, /<table class="list">/);
  });

  it('shows an empty state for a tenant without users', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await agent.get('/admin/users');
    assert.match(res.text, /No users yet\./);
    assert.match(res.text, /Create your first user/);
  });

  it('edits a user, keeps the password when left blank, then sets and removes it', async () => {
    const tenant = await createTenant(ctx.services);
    const user = await createUser(ctx.services, tenant, { login: 'dave', password: 'first secret phrase', email: 'dave@example.test' });
    const agent = await signIn(ctx.app, tenant);
    const page = `/admin/users/${user.id}`;
    const before = await userRow(tenant, user.id);

    const res = await postForm(agent, page, page, { login: 'david', email: 'david@example.test', phone: '', firstName: 'David', lastName: 'Bowman', password: '', removePassword: '0' });
    assert.equal(res.status, 303);
    let row = await userRow(tenant, user.id);
    assert.equal(row.login, 'david');
    assert.equal(row.first_name, 'David');
    assert.equal(row.password_hash, before.password_hash, 'blank password keeps it');
    const audits = await auditOf(tenant, 'user.update', user.id);
    assert.equal(audits.length, 1);
    assert.ok(!audits[0].details.fields.includes('password'));

    await postForm(agent, page, page, { login: 'david', email: 'david@example.test', password: 'second secret phrase', removePassword: '0' });
    row = await userRow(tenant, user.id);
    assert.notEqual(row.password_hash, before.password_hash);

    const shown = await agent.get(page);
    assert.match(shown.text, /Remove password/);
    await postForm(agent, page, page, { login: 'david', email: 'david@example.test', password: '', removePassword: '1' });
    row = await userRow(tenant, user.id);
    assert.equal(row.password_hash, null);
  });

  it('re-renders the user page with messages for a bad edit, and changes nothing', async () => {
    const tenant = await createTenant(ctx.services);
    await createUser(ctx.services, tenant, { login: 'taken' });
    const user = await createUser(ctx.services, tenant, { login: 'erin', email: 'erin@example.test' });
    const agent = await signIn(ctx.app, tenant);
    const page = `/admin/users/${user.id}`;
    const bad = await postForm(agent, page, page, { login: 'erin', email: 'nope', phone: '12' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /Enter a valid email address/);
    assert.match(bad.text, /Resources/, 'the whole user page comes back');
    const dup = await postForm(agent, page, page, { login: 'TAKEN', email: 'erin@example.test' });
    assert.equal(dup.status, 422);
    assert.match(dup.text, /id="f-login-error">Another user already has this login\./);
    const row = await userRow(tenant, user.id);
    assert.equal(row.login, 'erin');
    assert.equal(row.email, 'erin@example.test');
    assert.equal((await auditOf(tenant, 'user.update', user.id)).length, 0);
  });

  it('blocks and unblocks a user, audited', async () => {
    const tenant = await createTenant(ctx.services);
    const user = await createUser(ctx.services, tenant, { login: 'frank', email: 'frank@example.test' });
    const agent = await signIn(ctx.app, tenant);
    const page = `/admin/users/${user.id}`;
    assert.equal((await postForm(agent, page, `${page}/block`, {})).status, 303);
    assert.ok((await userRow(tenant, user.id)).blocked_at);
    const blocked = await agent.get(page);
    assert.match(blocked.text, /class="badge danger">Blocked/);
    assert.match(blocked.text, />Unblock</);
    assert.match((await agent.get('/admin/users')).text, /class="badge danger">Blocked/);
    assert.equal((await postForm(agent, page, `${page}/unblock`, {})).status, 303);
    assert.equal((await userRow(tenant, user.id)).blocked_at, null);
    assert.equal((await auditOf(tenant, 'user.block', user.id)).length, 1);
    assert.equal((await auditOf(tenant, 'user.unblock', user.id)).length, 1);
  });

  it('deletes a user through a confirmation page', async () => {
    const tenant = await createTenant(ctx.services);
    const user = await createUser(ctx.services, tenant, { login: 'gina' });
    const agent = await signIn(ctx.app, tenant);
    const show = await agent.get(`/admin/users/${user.id}`);
    assert.match(show.text, new RegExp(`href="/admin/users/${user.id}/delete"`));
    const confirm = await agent.get(`/admin/users/${user.id}/delete`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, /Delete “gina”\?/);
    assert.match(confirm.text, /cannot be undone/);
    const res = await postForm(agent, `/admin/users/${user.id}/delete`, `/admin/users/${user.id}/delete`, {});
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/admin/users');
    assert.equal(await userRow(tenant, user.id), undefined);
    assert.equal((await auditOf(tenant, 'user.delete', user.id)).length, 1);
    assert.equal((await agent.get(`/admin/users/${user.id}`)).status, 404);
  });

  it('assigns and unassigns resources from the user page, showing lock state', async () => {
    const tenant = await createTenant(ctx.services);
    const vpn = await createResource(ctx.services, tenant, { name: 'VPN' });
    const wiki = await createResource(ctx.services, tenant, { name: 'Wiki' });
    const user = await createUser(ctx.services, tenant, { login: 'hal', email: 'hal@example.test' });
    const agent = await signIn(ctx.app, tenant);
    const page = `/admin/users/${user.id}`;

    const empty = await agent.get(page);
    assert.match(empty.text, /not assigned to any resource yet/);
    assert.match(empty.text, new RegExp(`<option value="${vpn.id}">VPN</option>`));

    const blank = await postForm(agent, page, `${page}/resources`, { resourceId: '' });
    assert.equal(blank.status, 422);
    assert.match(blank.text, /Choose a resource\./);

    assert.equal((await postForm(agent, page, `${page}/resources`, { resourceId: vpn.id })).status, 303);
    const assigned = await ctx.services.db('resource_users').where({ tenant_id: tenant.tenantId, user_id: user.id });
    assert.deepEqual(assigned.map((a) => a.resource_id), [vpn.id]);
    assert.equal((await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.user.assign', target_id: user.id })).length, 1);

    await ctx.services.db('resource_users').where({ resource_id: vpn.id, user_id: user.id }).update({ fail_count: 5, locked_until: new Date(Date.now() + 10 * 60_000) });
    const shown = await agent.get(page);
    assert.match(shown.text, /hx-confirm="Unassign hal from VPN\?"/);
    assert.match(shown.text, /data-label="Failed attempts">5</);
    assert.match(shown.text, /class="badge danger">Locked<\/span> until <time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/time>/);
    assert.doesNotMatch(shown.text, new RegExp(`<option value="${vpn.id}">`), 'an assigned resource is not offered again');
    assert.match(shown.text, new RegExp(`<option value="${wiki.id}">Wiki</option>`));

    // A lock of 0 minutes lasts until an admin unlocks: stored as `infinity`, which pg reads as a number.
    await postForm(agent, page, `${page}/resources`, { resourceId: wiki.id });
    await ctx.services.db('resource_users').where({ resource_id: wiki.id, user_id: user.id }).update({ locked_until: ctx.services.db.raw("'infinity'") });
    assert.match((await agent.get(page)).text, /Locked<\/span> until an admin unlocks/);
    assert.match((await agent.get(page)).text, /This user is assigned to every resource\./);
    await postForm(agent, page, `${page}/resources/${wiki.id}/unassign`, {});

    const res = await postForm(agent, page, `${page}/resources/${vpn.id}/unassign`, {});
    assert.equal(res.status, 303);
    assert.equal((await ctx.services.db('resource_users').where({ user_id: user.id })).length, 0);
    assert.equal((await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.user.unassign', target_id: user.id, resource_id: vpn.id })).length, 1);
    assert.equal((await postForm(agent, page, `${page}/resources/${vpn.id}/unassign`, {})).status, 404, 'unassigning twice says not found');
  });

  it("answers 404 for another tenant's user or resource, and changes nothing (SEC-20)", async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const foreign = await createUser(ctx.services, b, { login: 'ivan', email: 'ivan@example.test' });
    const foreignResource = await createResource(ctx.services, b);
    const mine = await createUser(ctx.services, a, { login: 'judy' });
    const agent = await signIn(ctx.app, a);
    const base = `/admin/users/${foreign.id}`;
    assert.equal((await agent.get(base)).status, 404);
    assert.equal((await agent.get(`${base}/delete`)).status, 404);
    assert.equal((await agent.get('/admin/users/not-a-uuid')).status, 404);
    for (const action of [base, `${base}/block`, `${base}/delete`, `${base}/resources`]) {
      const res = await postForm(agent, '/admin/users', action, { login: 'hijacked', resourceId: foreignResource.id });
      assert.equal(res.status, 404, action);
      assert.doesNotMatch(res.text, NO_STACK);
    }
    const assignForeign = await postForm(agent, '/admin/users', `/admin/users/${mine.id}/resources`, { resourceId: foreignResource.id });
    assert.equal(assignForeign.status, 404);
    assert.match(assignForeign.text, /Resource was not found/);
    const row = await ctx.services.db('users').where({ id: foreign.id }).first();
    assert.equal(row.login, 'ivan');
    assert.equal(row.blocked_at, null);
    assert.equal((await ctx.services.db('resource_users').whereIn('user_id', [foreign.id, mine.id])).length, 0);
  });

  it('lets an auditor read but not change (403, nothing written)', async () => {
    const owner = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, owner);
    const user = await createUser(ctx.services, owner, { login: 'kim', email: 'kim@example.test' });
    const auditor = await addAdmin(ctx.services, owner, 'auditor');
    const agent = await signIn(ctx.app, auditor);
    const page = `/admin/users/${user.id}`;

    const list = await agent.get('/admin/users');
    assert.equal(list.status, 200);
    assert.match(list.text, />kim</);
    assert.doesNotMatch(list.text, /New user/);
    const shown = await agent.get(page);
    assert.equal(shown.status, 200);
    assert.match(shown.text, /kim@example\.test/);
    assert.doesNotMatch(shown.text, /<form method="post" action="\/admin\/users/, 'no forms for an auditor');
    assert.doesNotMatch(shown.text, /\/delete"/);

    for (const [action, fields] of [
      [page, { login: 'changed' }],
      [`${page}/block`, {}],
      [`${page}/resources`, { resourceId: resource.id }],
      [`${page}/delete`, {}],
      ['/admin/users', { login: unique('new') }],
    ] as const) {
      const res = await postForm(agent, '/admin/users', action, fields);
      assert.equal(res.status, 403, action);
      assert.match(res.text, /Auditors have read-only access\./);
    }
    const row = await userRow(owner, user.id);
    assert.equal(row.login, 'kim');
    assert.equal(row.blocked_at, null);
    assert.equal(await userCount(owner), 1);
    assert.equal((await ctx.services.db('resource_users').where({ user_id: user.id })).length, 0);
  });

  it('flags users with neither password nor email as unable to sign in (SPEC §5.2)', async () => {
    const tenant = await createTenant(ctx.services);
    const stranded = await createUser(ctx.services, tenant, { login: 'lost' });
    await createUser(ctx.services, tenant, { login: 'mailer', email: 'mailer@example.test' });
    await createUser(ctx.services, tenant, { login: 'passer', password: 'a fine pass phrase' });
    const agent = await signIn(ctx.app, tenant);
    const list = await agent.get('/admin/users');
    assert.equal((list.text.match(/class="badge warning"[^>]*>Cannot sign in/g) ?? []).length, 1);
    const row = list.text.split('<tr>').find((r) => r.includes('>lost<'))!;
    assert.match(row, /Cannot sign in/);
    const shown = await agent.get(`/admin/users/${stranded.id}`);
    assert.match(shown.text, /neither a password nor an email address/);
  });
});
