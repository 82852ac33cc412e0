import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant, unique, TEST_PASSWORD } from '../helpers/factories';
import { postForm, signIn } from '../helpers/admin-agent';
import { enroll, passwordStep } from '../helpers/enrollment';

const NEW_KEY = /<code class="secret" id="new-api-key">(mfa_[^<]+)<\/code>/;

describe('console: admins, API keys, outbox, audit log', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  describe('admins', () => {
    it('an owner invites an admin, who accepts, enrols TOTP and lands in the console with the invited role', async () => {
      const owner = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, owner);
      const email = `${unique('invitee')}@example.test`;
      const sent = await postForm(agent, '/admin/admins', '/admin/admins', { email, role: 'auditor' });
      assert.equal(sent.status, 303);
      assert.equal(sent.headers.location, '/admin/admins');
      const list = await agent.get('/admin/admins');
      assert.match(list.text, new RegExp(`Invitation sent to ${email}`));
      assert.match(list.text, /Invited/);

      // Without SMTP_URL the invitation is captured in the tenant's outbox, link included.
      const message = await ctx.services.db('messages').where({ tenant_id: owner.tenantId, recipient: email }).first();
      assert.ok(message, 'the invitation email is stored');
      const link = String(message.body_text).match(/http:\/\/localhost:3000(\/admin\/invite\/[\w-]+)/);
      assert.ok(link, 'the email holds the invitation link');
      assert.match((await agent.get('/admin/outbox')).text, new RegExp(email));
      const detail = await agent.get(`/admin/outbox/${message.id}`);
      assert.equal(detail.status, 200);
      assert.match(detail.text, /<pre class="message">[\s\S]*\/admin\/invite\//);

      const invitee = request.agent(ctx.app);
      const invitePage = await invitee.get(link[1]);
      assert.equal(invitePage.status, 200);
      assert.match(invitePage.text, /auditor/);
      const weak = await postForm(invitee, link[1], link[1], { name: 'Ida', password: 'short' });
      assert.equal(weak.status, 422);
      assert.match(weak.text, /Use at least 8 characters/);
      const accepted = await postForm(invitee, link[1], link[1], { name: 'Ida Invitee', password: TEST_PASSWORD });
      assert.equal(accepted.status, 303);
      assert.equal(accepted.headers.location, '/admin/sign-in');
      assert.equal((await request(ctx.app).get(link[1])).status, 404, 'the link works once');

      await passwordStep(invitee, email, TEST_PASSWORD);
      await enroll(invitee);
      const console = await invitee.get('/admin/resources');
      assert.equal(console.status, 200);
      assert.match(console.text, new RegExp(`${email} \\(auditor\\)`));
      const row = await ctx.services.db('admins').where({ tenant_id: owner.tenantId, email }).first();
      assert.equal(row.role, 'auditor');
      assert.equal(row.name, 'Ida Invitee');
      assert.ok(row.totp_secret_sealed);
      assert.equal((await ctx.services.db('audit_events').where({ tenant_id: owner.tenantId, action: 'admin.invite', target_id: row.id })).length, 1);
    });

    it('refuses a bad or taken email in the invite form, writing nothing', async () => {
      const owner = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, owner);
      const bad = await postForm(agent, '/admin/admins', '/admin/admins', { email: 'not-an-email', role: 'admin' });
      assert.equal(bad.status, 422);
      assert.match(bad.text, /Enter a valid email address/);
      const badRole = await postForm(agent, '/admin/admins', '/admin/admins', { email: `${unique('x')}@example.test`, role: 'superuser' });
      assert.equal(badRole.status, 422);
      assert.match(badRole.text, /Choose a role/);
      const taken = await postForm(agent, '/admin/admins', '/admin/admins', { email: owner.email, role: 'admin' });
      assert.equal(taken.status, 422);
      assert.match(taken.text, /already exists/);
      assert.equal((await ctx.services.db('admins').where({ tenant_id: owner.tenantId })).length, 1);
      assert.equal((await ctx.services.db('messages').where({ tenant_id: owner.tenantId })).length, 0);
    });

    it('changes a role, disables after confirmation and enables again, with audit events', async () => {
      const owner = await createTenant(ctx.services);
      const colleague = await addAdmin(ctx.services, owner, 'admin');
      const agent = await signIn(ctx.app, owner);

      const changed = await postForm(agent, '/admin/admins', `/admin/admins/${colleague.adminId}/role`, { role: 'auditor' });
      assert.equal(changed.status, 303);
      assert.equal((await ctx.services.db('admins').where({ id: colleague.adminId }).first()).role, 'auditor');

      const confirm = await agent.get(`/admin/admins/${colleague.adminId}/disable`);
      assert.equal(confirm.status, 200);
      assert.match(confirm.text, new RegExp(`Disable ${colleague.email}\\?`));
      assert.ok((await ctx.services.db('admins').where({ id: colleague.adminId }).first()).disabled_at === null, 'the confirmation page changes nothing');
      const disabled = await postForm(agent, `/admin/admins/${colleague.adminId}/disable`, `/admin/admins/${colleague.adminId}/disable`, {});
      assert.equal(disabled.status, 303);
      assert.ok((await ctx.services.db('admins').where({ id: colleague.adminId }).first()).disabled_at);
      assert.match((await agent.get('/admin/admins')).text, /Disabled/);

      const enabled = await postForm(agent, '/admin/admins', `/admin/admins/${colleague.adminId}/enable`, {});
      assert.equal(enabled.status, 303);
      assert.equal((await ctx.services.db('admins').where({ id: colleague.adminId }).first()).disabled_at, null);
      const actions = (await ctx.services.db('audit_events').where({ tenant_id: owner.tenantId, target_id: colleague.adminId }).orderBy('id')).map((e) => e.action);
      assert.deepEqual(actions, ['admin.role.change', 'admin.disable', 'admin.enable']);
    });

    it('cannot demote the last owner or disable oneself, with a clear message', async () => {
      const owner = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, owner);
      const demote = await postForm(agent, '/admin/admins', `/admin/admins/${owner.adminId}/role`, { role: 'admin' });
      assert.equal(demote.status, 403);
      assert.match(demote.text, /The tenant needs at least one owner/);
      assert.match(demote.text, /Invite an admin/, 'the admins page is shown again with the message');
      const disable = await postForm(agent, '/admin/admins', `/admin/admins/${owner.adminId}/disable`, {});
      assert.equal(disable.status, 403);
      assert.match(disable.text, /You cannot disable your own account/);
      const row = await ctx.services.db('admins').where({ id: owner.adminId }).first();
      assert.equal(row.role, 'owner');
      assert.equal(row.disabled_at, null);
      assert.equal((await agent.get('/admin/resources')).status, 200, 'still signed in');
    });

    it("answers 404 for another tenant's admin (SEC-20)", async () => {
      const owner = await createTenant(ctx.services);
      const other = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, owner);
      assert.equal((await agent.get(`/admin/admins/${other.adminId}/disable`)).status, 404);
      assert.equal((await postForm(agent, '/admin/admins', `/admin/admins/${other.adminId}/role`, { role: 'auditor' })).status, 404);
      assert.equal((await postForm(agent, '/admin/admins', `/admin/admins/${other.adminId}/disable`, {})).status, 404);
      assert.equal((await postForm(agent, '/admin/admins', '/admin/admins/not-a-uuid/enable', {})).status, 404);
      const row = await ctx.services.db('admins').where({ id: other.adminId }).first();
      assert.equal(row.role, 'owner');
      assert.equal(row.disabled_at, null);
    });

    it('non-owners get 403 on admins and API keys, and their posts change nothing', async () => {
      const owner = await createTenant(ctx.services);
      for (const role of ['admin', 'auditor'] as const) {
        const member = await addAdmin(ctx.services, owner, role);
        const agent = await signIn(ctx.app, member);
        for (const path of ['/admin/admins', '/admin/api-keys']) {
          const res = await agent.get(path);
          assert.equal(res.status, 403, `${role} ${path}`);
          assert.match(res.text, /Your role does not allow this/);
        }
        assert.doesNotMatch((await agent.get('/admin/resources')).text, /href="\/admin\/api-keys"/, 'the menu hides owner pages');
        assert.equal((await postForm(agent, '/admin/resources', '/admin/admins', { email: `${unique('x')}@example.test`, role: 'owner' })).status, 403);
        assert.equal((await postForm(agent, '/admin/resources', '/admin/api-keys', { name: 'mine' })).status, 403);
        assert.equal((await postForm(agent, '/admin/resources', `/admin/admins/${member.adminId}/role`, { role: 'owner' })).status, 403);
      }
      assert.equal((await ctx.services.db('admins').where({ tenant_id: owner.tenantId, role: 'owner' })).length, 1);
      assert.equal((await ctx.services.db('api_keys').where({ tenant_id: owner.tenantId })).length, 1, 'only the bootstrap key');
    });
  });

  describe('API keys', () => {
    it('shows a new key exactly once, on a no-store page, and it authenticates', async () => {
      const owner = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, owner);
      const created = await postForm(agent, '/admin/api-keys', '/admin/api-keys', { name: 'VPN gateway' });
      assert.equal(created.status, 303);
      assert.equal(created.headers.location, '/admin/api-keys');

      const shown = await agent.get('/admin/api-keys');
      assert.equal(shown.status, 200);
      assert.equal(shown.headers['cache-control'], 'no-store');
      const plain = shown.text.match(NEW_KEY)?.[1];
      assert.ok(plain, 'the plain key is on the page');
      assert.match(shown.text, /data-copy="#new-api-key"/);
      const auth = await ctx.services.apiKeys.authenticate(plain);
      assert.equal(auth?.tenantId, owner.tenantId);
      assert.equal(auth?.name, 'VPN gateway');
      const prefix = plain.split('_')[1];
      assert.match(shown.text, new RegExp(`mfa_${prefix}_…`));

      const again = await agent.get('/admin/api-keys');
      assert.doesNotMatch(again.text, NEW_KEY);
      assert.ok(!again.text.includes(plain), 'a second view never shows the key');
      assert.match(again.text, /VPN gateway/);
      const row = await ctx.services.db('api_keys').where({ tenant_id: owner.tenantId, name: 'VPN gateway' }).first();
      assert.ok(!JSON.stringify(row).includes(plain), 'only a hash is stored');
      const sessions = await ctx.services.db('sessions').select('*');
      assert.ok(!JSON.stringify(sessions).includes(plain), 'the key left the session once shown');
    });

    it('refuses a blank name with a field message', async () => {
      const owner = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, owner);
      const res = await postForm(agent, '/admin/api-keys', '/admin/api-keys', { name: '   ' });
      assert.equal(res.status, 422);
      assert.match(res.text, /Enter a name/);
      assert.equal((await ctx.services.db('api_keys').where({ tenant_id: owner.tenantId })).length, 1);
    });

    it('revokes after confirmation: the key stops working at once', async () => {
      const owner = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, owner);
      const { key, plain } = await ctx.services.apiKeys.create(owner.actor, { name: 'CI' });
      assert.ok(await ctx.services.apiKeys.authenticate(plain));

      const confirm = await agent.get(`/admin/api-keys/${key.id}/revoke`);
      assert.equal(confirm.status, 200);
      assert.match(confirm.text, /Revoke the key “CI”\?/);
      assert.ok(await ctx.services.apiKeys.authenticate(plain), 'the confirmation page changes nothing');

      const revoked = await postForm(agent, `/admin/api-keys/${key.id}/revoke`, `/admin/api-keys/${key.id}/revoke`, {});
      assert.equal(revoked.status, 303);
      assert.equal(await ctx.services.apiKeys.authenticate(plain), undefined);
      assert.match((await agent.get('/admin/api-keys')).text, /Revoked/);
      assert.equal((await ctx.services.db('audit_events').where({ tenant_id: owner.tenantId, action: 'api_key.revoke', target_id: key.id })).length, 1);
      const twice = await postForm(agent, '/admin/api-keys', `/admin/api-keys/${key.id}/revoke`, {});
      assert.equal(twice.status, 404);
    });

    it("answers 404 for another tenant's key and leaves it working (SEC-20)", async () => {
      const owner = await createTenant(ctx.services);
      const other = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, owner);
      const foreign = await ctx.services.db('api_keys').where({ tenant_id: other.tenantId }).first();
      assert.equal((await agent.get(`/admin/api-keys/${foreign.id}/revoke`)).status, 404);
      assert.equal((await postForm(agent, '/admin/api-keys', `/admin/api-keys/${foreign.id}/revoke`, {})).status, 404);
      assert.equal((await postForm(agent, '/admin/api-keys', '/admin/api-keys/not-a-uuid/revoke', {})).status, 404);
      assert.ok(await ctx.services.apiKeys.authenticate(other.apiKey));
      assert.doesNotMatch((await agent.get('/admin/api-keys')).text, new RegExp(foreign.prefix));
    });
  });

  describe('outbox', () => {
    it('explains capture when empty, and lists only the tenant’s own messages (SEC-20)', async () => {
      const mine = await createTenant(ctx.services);
      const theirs = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, mine);
      const empty = await agent.get('/admin/outbox');
      assert.equal(empty.status, 200);
      assert.match(empty.text, /No messages yet/);
      assert.match(empty.text, /SMTP_URL/);

      const ownSubject = unique('Hello');
      const foreignSubject = unique('Secret');
      const own = await ctx.services.messages.send(mine.tenantId, { recipient: 'a@example.test', subject: ownSubject, bodyText: 'Your body' });
      const foreign = await ctx.services.messages.send(theirs.tenantId, { recipient: 'b@example.test', subject: foreignSubject, bodyText: 'Not yours' });
      const list = await agent.get('/admin/outbox');
      assert.match(list.text, new RegExp(ownSubject));
      assert.doesNotMatch(list.text, new RegExp(foreignSubject));
      const detail = await agent.get(`/admin/outbox/${own.id}`);
      assert.equal(detail.status, 200);
      assert.match(detail.text, /<pre class="message">Your body<\/pre>/);
      assert.equal((await agent.get(`/admin/outbox/${foreign.id}`)).status, 404);
      assert.equal((await agent.get('/admin/outbox/not-a-uuid')).status, 404);
    });

    it('pages the list, shows failures, and says when a sent body was dropped', async () => {
      const tenant = await createTenant(ctx.services);
      const rows = Array.from({ length: 27 }, (_, i) => ({
        tenant_id: tenant.tenantId, channel: 'email', recipient: `r${i}@example.test`, subject: `Subject ${String(i).padStart(2, '0')}`,
        body_text: null, status: 'sent', created_at: new Date(Date.now() - (27 - i) * 1000),
      }));
      await ctx.services.db('messages').insert(rows);
      await ctx.services.db('messages').where({ tenant_id: tenant.tenantId, subject: 'Subject 00' }).update({ status: 'failed', attempts: 5, last_error: 'connection refused' });
      const agent = await signIn(ctx.app, tenant);
      const first = await agent.get('/admin/outbox');
      assert.match(first.text, /Page 1 of 2 \(27 in all\)/);
      assert.match(first.text, /Subject 26/);
      assert.doesNotMatch(first.text, /Subject 00/);
      const second = await agent.get('/admin/outbox?page=2');
      assert.match(second.text, /Subject 00/);
      assert.match(second.text, /connection refused/);
      assert.match(second.text, /5 failed attempts/);

      const sent = await ctx.services.db('messages').where({ tenant_id: tenant.tenantId, subject: 'Subject 10' }).first();
      const detail = await agent.get(`/admin/outbox/${sent.id}`);
      assert.match(detail.text, /removed after delivery over SMTP/);
    });

    it('shows message bodies to owners only (they can hold invitation links)', async () => {
      const owner = await createTenant(ctx.services);
      const auditor = await addAdmin(ctx.services, owner, 'auditor');
      const message = await ctx.services.messages.send(owner.tenantId, { recipient: 'c@example.test', subject: 'Invite', bodyText: 'secret link' });
      const agent = await signIn(ctx.app, auditor);
      const detail = await agent.get(`/admin/outbox/${message.id}`);
      assert.equal(detail.status, 200);
      assert.doesNotMatch(detail.text, /secret link/);
      assert.match(detail.text, /Only owners can read message bodies/);
    });
  });

  describe('audit log', () => {
    it('lists the tenant’s own events, newest first, never another tenant’s (SEC-20)', async () => {
      const mine = await createTenant(ctx.services);
      const theirs = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, mine);
      await ctx.services.apiKeys.create(mine.actor, { name: 'Audited key' });
      await ctx.services.apiKeys.create(theirs.actor, { name: 'Foreign key' });
      const page = await agent.get('/admin/audit');
      assert.equal(page.status, 200);
      // The rows only: the filter's select lists every action.
      const table = page.text.slice(page.text.indexOf('<table'));
      assert.match(table, /Created API key/, 'actions in words');
      assert.match(table, /title="api_key\.create"/);
      assert.match(table, /Audited key/);
      assert.match(table, new RegExp(mine.email));
      assert.doesNotMatch(page.text, /Foreign key/);
      assert.doesNotMatch(page.text, new RegExp(theirs.email));
      assert.ok(table.indexOf('Audited key') < table.indexOf('Created organisation'), 'newest first');
      const signInRow = table.split('<tr>').find((row) => row.includes('admin.sign_in'));
      assert.ok(signInRow?.includes(mine.email), 'sign-in events name the admin by email');
    });

    it('pages long logs', async () => {
      const tenant = await createTenant(ctx.services);
      await ctx.services.db('audit_events').insert(
        Array.from({ length: 60 }, (_, i) => ({ tenant_id: tenant.tenantId, actor_type: 'system', actor_label: 'test', action: `test.event_${i}`, result: 'success', details: '{}' })),
      );
      const agent = await signIn(ctx.app, tenant);
      const first = await agent.get('/admin/audit');
      assert.match(first.text, /test\.event_59/);
      // Keyset paging (issue 13 §3): an "Older" link with the last row's id, no page count.
      const older = first.text.match(/href="(\/admin\/audit\?before=\d+)"[^>]*rel="next"/);
      assert.ok(older, 'an Older link');
      const second = await agent.get(older[1]);
      assert.match(second.text, /Created organisation/);
      assert.doesNotMatch(second.text, /test\.event_59/);
      assert.match(second.text, /rel="prev">Newer</);
      const fragment = await agent.get(older[1]).set('HX-Request', 'true');
      assert.doesNotMatch(fragment.text, /<html/, 'htmx gets the table alone');
      assert.match(fragment.text, /Created organisation/);
    });
  });
});
