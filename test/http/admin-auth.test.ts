import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { authenticator } from 'otplib';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant, unique, TEST_PASSWORD } from '../helpers/factories';
import { csrfFrom, csrfOf, postForm, signIn } from '../helpers/admin-agent';
import { enroll, passwordStep, secretFrom } from '../helpers/enrollment';

const GENERIC_FAILURE = 'The email or password is not correct.';

/** The signed session cookie a response sets (the session is rolling, so every response sets it). */
function sidOf(res: { headers: Record<string, unknown> }): string {
  const cookies = ([] as string[]).concat((res.headers['set-cookie'] as string[] | undefined) ?? []);
  const sid = cookies.find((c) => c.startsWith('mfa.sid='));
  assert.ok(sid, 'the response sets the session cookie');
  return sid.split(';')[0];
}

/** The flash/alert text of a page, to compare two answers. */
function alertOf(html: string): string | undefined {
  return html.match(/role="alert">(?:<h2[^>]*>)?([^<]*)</)?.[1];
}

describe('console: sign-in, enrolment, sessions', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  /** A tenant whose owner has a password but no TOTP yet, as after sign-up. */
  async function unenrolledOwner() {
    const tenant = await createTenant(ctx.services);
    await ctx.services.db('admins').where({ id: tenant.adminId }).update({ totp_secret_sealed: null });
    return tenant;
  }

  it('SEC-22 wrong password and unknown email get the same 401 answer', async () => {
    const tenant = await createTenant(ctx.services);
    const wrongPassword = await postForm(request.agent(ctx.app), '/admin/sign-in', '/admin/sign-in', { email: tenant.email, password: 'not the password' });
    const unknownEmail = await postForm(request.agent(ctx.app), '/admin/sign-in', '/admin/sign-in', { email: `${unique('nobody')}@example.test`, password: TEST_PASSWORD });
    const blank = await postForm(request.agent(ctx.app), '/admin/sign-in', '/admin/sign-in', { email: '', password: '' });
    for (const res of [wrongPassword, unknownEmail, blank]) {
      assert.equal(res.status, 401);
      assert.equal(alertOf(res.text), GENERIC_FAILURE);
    }
    const events = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'admin.sign_in', result: 'success' });
    assert.equal(events.length, 0);
  });

  it('SEC-03 first sign-in enrols TOTP from a QR code on a no-store page; a wrong code is refused', async () => {
    const tenant = await unenrolledOwner();
    const agent = request.agent(ctx.app);
    await passwordStep(agent, tenant.email, tenant.password);

    const page = await agent.get('/admin/sign-in/enroll');
    assert.equal(page.status, 200);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.match(page.text, /<svg[\s\S]*<\/svg>/);
    assert.match(page.text, /autocomplete="one-time-code"/);
    const secret = secretFrom(page.text);
    assert.match(secret, /^[A-Z2-7]{32}$/, '160-bit base32 secret');

    const wrongCode = authenticator.generate(secret) === '000000' ? '111111' : '000000';
    const refused = await agent.post('/admin/sign-in/enroll').type('form').send({ _csrf: csrfFrom(page.text), code: wrongCode });
    assert.equal(refused.status, 422);
    assert.match(refused.text, /That code is not valid/);
    const stillPending = await ctx.services.db('admins').where({ id: tenant.adminId }).first();
    assert.equal(stillPending.totp_secret_sealed, null, 'nothing is stored before a correct code');
    assert.equal((await agent.get('/admin/resources')).status, 303, 'still not signed in');

    const ok = await postForm(agent, '/admin/sign-in/enroll', '/admin/sign-in/enroll', { code: authenticator.generate(secretFrom(refused.text)) });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, '/admin');
    const console = await agent.get('/admin/resources');
    assert.equal(console.status, 200);
    assert.match(console.text, /authenticator app is set up/);
    const enrolled = await ctx.services.db('admins').where({ id: tenant.adminId }).first();
    assert.ok(enrolled.totp_secret_sealed);
    assert.ok(!enrolled.totp_secret_sealed.includes(secret), 'the secret is stored sealed, not in plain text');
  });

  it('SEC-05 a TOTP code signs in once: the same code, or an older one, is refused afterwards', async () => {
    const tenant = await createTenant(ctx.services);
    const code = authenticator.generate(tenant.totpSecret);
    const previous = authenticator.clone({ epoch: Date.now() - 30_000 }).generate(tenant.totpSecret);

    const first = request.agent(ctx.app);
    await postForm(first, '/admin/sign-in', '/admin/sign-in', { email: tenant.email, password: tenant.password });
    const accepted = await postForm(first, '/admin/sign-in/totp', '/admin/sign-in/totp', { code });
    assert.equal(accepted.status, 303);

    const second = request.agent(ctx.app);
    await postForm(second, '/admin/sign-in', '/admin/sign-in', { email: tenant.email, password: tenant.password });
    const replay = await postForm(second, '/admin/sign-in/totp', '/admin/sign-in/totp', { code });
    assert.equal(replay.status, 401);
    assert.match(replay.text, /That code is not valid/);
    if (previous !== code) {
      const older = await postForm(second, '/admin/sign-in/totp', '/admin/sign-in/totp', { code: previous });
      assert.equal(older.status, 401);
    }
    assert.equal((await second.get('/admin/resources')).status, 303);
    const failures = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'admin.sign_in', result: 'failure' });
    assert.ok(failures.length >= 1, 'refused codes are audited');
  });

  it('SEC-18 a session with the password done but TOTP pending reaches nothing else', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = request.agent(ctx.app);
    const res = await postForm(agent, '/admin/sign-in', '/admin/sign-in', { email: tenant.email, password: tenant.password });
    assert.match(String(res.headers.location), /^\/admin\/sign-in\/totp/);
    for (const path of ['/admin/resources', '/admin/users', '/admin/admins', '/admin/api-keys', '/admin/outbox', '/admin/audit', '/admin']) {
      const page = await agent.get(path);
      assert.equal(page.status, 303, path);
      assert.match(String(page.headers.location), /^\/admin\/sign-in/, path);
    }
    const token = await csrfOf(agent, '/admin/sign-in/totp');
    const post = await agent.post('/admin/api-keys').type('form').send({ _csrf: token, name: 'sneaky' });
    assert.equal(post.status, 303);
    assert.equal((await ctx.services.db('api_keys').where({ tenant_id: tenant.tenantId, name: 'sneaky' })).length, 0);
    assert.equal((await agent.get('/admin/sign-in/totp')).status, 200, 'the TOTP step itself is reachable');
  });

  it('SEC-17 the session id changes after the password and after the TOTP step; old ids are dead', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = request.agent(ctx.app);
    const form = await agent.get('/admin/sign-in');
    const anonymous = sidOf(form);
    const afterPassword = await agent.post('/admin/sign-in').type('form').send({ _csrf: csrfFrom(form.text), email: tenant.email, password: tenant.password });
    const pending = sidOf(afterPassword);
    assert.notEqual(pending, anonymous);

    const totpPage = await agent.get('/admin/sign-in/totp');
    const afterTotp = await agent.post('/admin/sign-in/totp').type('form').send({ _csrf: csrfFrom(totpPage.text), code: authenticator.generate(tenant.totpSecret) });
    assert.equal(afterTotp.status, 303);
    const signedIn = sidOf(afterTotp);
    assert.notEqual(signedIn, pending);
    assert.match(([] as string[]).concat(afterTotp.headers['set-cookie'] ?? []).join(), /HttpOnly/i);
    assert.match(([] as string[]).concat(afterTotp.headers['set-cookie'] ?? []).join(), /SameSite=Lax/i);

    // The pending session was replaced, not kept: presenting its id gets nowhere.
    assert.equal((await request(ctx.app).get('/admin/sign-in/totp').set('Cookie', pending)).status, 303);
    assert.equal((await request(ctx.app).get('/admin/resources').set('Cookie', signedIn)).status, 200);
  });

  it('SEC-17 sign-out deletes the server-side session', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const page = await agent.get('/admin/resources');
    const cookie = sidOf(page);
    const out = await agent.post('/admin/sign-out').type('form').send({ _csrf: csrfFrom(page.text) });
    assert.equal(out.status, 303);
    assert.equal(out.headers.location, '/admin/sign-in');
    assert.equal((await agent.get('/admin/resources')).status, 303);
    // Replaying the old cookie does not bring the session back.
    const replay = await request(ctx.app).get('/admin/resources').set('Cookie', cookie);
    assert.equal(replay.status, 303);
    assert.match(String(replay.headers.location), /^\/admin\/sign-in/);
  });

  it("SEC-15 a disabled admin's open session is refused on the next request, and sign-in is refused", async () => {
    const owner = await createTenant(ctx.services);
    const colleague = await addAdmin(ctx.services, owner, 'admin');
    const agent = await signIn(ctx.app, colleague);
    assert.equal((await agent.get('/admin/resources')).status, 200);

    await ctx.services.admins.setDisabled(owner.actor, colleague.adminId, true);
    const refused = await agent.get('/admin/resources');
    assert.equal(refused.status, 303);
    assert.match(String(refused.headers.location), /^\/admin\/sign-in/);
    assert.equal((await agent.get('/admin/users')).status, 303, 'the session stays ended');

    const again = await postForm(request.agent(ctx.app), '/admin/sign-in', '/admin/sign-in', { email: colleague.email, password: colleague.password });
    assert.equal(again.status, 401);
    assert.equal(alertOf(again.text), GENERIC_FAILURE);
  });

  it('sign-up creates a tenant with its owner, who then enrols TOTP at first sign-in', async () => {
    const organisation = unique('Acme');
    const email = `${unique('founder')}@example.test`;
    const agent = request.agent(ctx.app);
    const form = await agent.get('/signup');
    assert.equal(form.status, 200);
    assert.match(form.text, /autocomplete="new-password"/);

    const res = await postForm(agent, '/signup', '/signup', { organisation, email, password: TEST_PASSWORD });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/admin/sign-in');
    const tenant = await ctx.services.db('tenants').where({ name: organisation }).first();
    assert.ok(tenant);
    const admin = await ctx.services.db('admins').where({ tenant_id: tenant.id }).first();
    assert.equal(admin.email, email);
    assert.equal(admin.role, 'owner');
    assert.equal(admin.totp_secret_sealed, null);
    assert.equal((await ctx.services.db('audit_events').where({ tenant_id: tenant.id, action: 'tenant.create' })).length, 1);

    await passwordStep(agent, email, TEST_PASSWORD);
    await enroll(agent);
    const console = await agent.get('/admin/resources');
    assert.equal(console.status, 200);
    assert.match(console.text, new RegExp(organisation));
  });

  it('sign-up refuses a weak password and a taken email with field messages, writing nothing', async () => {
    const existing = await createTenant(ctx.services);
    const organisation = unique('Weak');
    const agent = request.agent(ctx.app);
    const weak = await postForm(agent, '/signup', '/signup', { organisation, email: `${unique('x')}@example.test`, password: 'short' });
    assert.equal(weak.status, 422);
    assert.match(weak.text, /Use at least 8 characters/);
    const taken = await postForm(agent, '/signup', '/signup', { organisation, email: existing.email, password: TEST_PASSWORD });
    assert.ok(taken.status === 409 || taken.status === 422);
    assert.match(taken.text, /already exists/);
    assert.equal((await ctx.services.db('tenants').where({ name: organisation })).length, 0);
  });

  it('sign-up is not found when SIGNUP_ENABLED=false', async () => {
    const closed = await createTestContext({ SIGNUP_ENABLED: 'false' });
    try {
      const agent = request.agent(closed.app);
      assert.equal((await agent.get('/signup')).status, 404);
      const organisation = unique('Closed');
      const res = await postForm(agent, '/signup', '/signup', { organisation, email: `${unique('x')}@example.test`, password: TEST_PASSWORD });
      assert.equal(res.status, 404);
      assert.equal((await closed.services.db('tenants').where({ name: organisation })).length, 0);
      assert.doesNotMatch((await agent.get('/admin/sign-in')).text, /href="\/signup"/);
    } finally {
      await closed.close();
    }
  });
});
