/**
 * Console sign-in limits (issue 11 §1, SEC-07, SEC-08, SEC-22): the password step is limited per
 * typed email and per IP, the second step locks the account after 5 wrong codes and ends the
 * half-signed-in session, locks expire by themselves or are lifted by an owner, the owner of the
 * account is emailed, every refusal and lock is audited, and unknown emails look like known ones.
 * Each test signs in from its own address (X-Forwarded-For, with TRUST_PROXY on) so the per-IP
 * counter of one test never reaches another.
 */
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import request from 'supertest';
import { authenticator } from 'otplib';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant, unique, TEST_PASSWORD, type TestTenant } from '../helpers/factories';
import { csrfFrom, type Agent } from '../helpers/admin-agent';
import { secretFrom } from '../helpers/enrollment';
import { assertSimilarTiming } from '../helpers/timing';

const GENERIC_FAILURE = 'The email or password is not correct.';
const TOO_MANY = 'Too many attempts. Wait a few minutes, then try again.';
const PER_IP = 30;

/** A fresh documentation-range address for one test's requests (random: counters outlive a run). */
const freshIp = () => `2001:db8::${randomBytes(6).toString('hex').match(/.{4}/g)!.join(':')}`;

const alertOf = (html: string) => html.match(/role="alert">(?:<h2[^>]*>)?([^<]*)</)?.[1]?.trim();
const wrongCodeFor = (secret: string) => (authenticator.generate(secret) === '000000' ? '111111' : '000000');

describe('console sign-in limits and lock (issue 11)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext({ TRUST_PROXY: 'true', CONSOLE_SIGN_IN_PER_IP: String(PER_IP) });
  });
  after(() => ctx.close());

  /** An agent whose requests all come from `ip`, with a helper that posts a form with a fresh CSRF token. */
  function visitor(ip = freshIp()) {
    const agent: Agent = request.agent(ctx.app);
    const post = async (formPage: string, action: string, fields: Record<string, string>) => {
      const page = await agent.get(formPage).set('X-Forwarded-For', ip);
      return agent.post(action).set('X-Forwarded-For', ip).type('form').send({ _csrf: csrfFrom(page.text), ...fields });
    };
    return { agent, ip, post, signInWith: (email: string, password: string) => post('/admin/sign-in', '/admin/sign-in', { email, password }) };
  }

  /** Signs in (password, then the current code) from a fresh address; returns the signed-in agent. */
  async function signIn(tenant: TestTenant): Promise<Agent> {
    const v = visitor();
    const first = await v.signInWith(tenant.email, tenant.password);
    assert.equal(first.status, 303, `password step: ${alertOf(first.text)}`);
    const second = await v.post('/admin/sign-in/totp', '/admin/sign-in/totp', { code: authenticator.generate(tenant.totpSecret) });
    assert.equal(second.status, 303, `TOTP step: ${alertOf(second.text)}`);
    return v.agent;
  }

  const auditOf = (tenant: TestTenant, action: string) =>
    ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action }).orderBy('id').select('result', 'details', 'ip');
  const lockMails = (tenant: TestTenant) => ctx.services.db('messages').where({ tenant_id: tenant.tenantId, recipient: tenant.email, subject: 'Your MFA console account is locked' });

  it('50 wrong passwords: the 11th and later are refused with 429, the right password too; the account is locked, audited and its owner emailed', async () => {
    const tenant = await createTenant(ctx.services);
    const v = visitor();
    const statuses: number[] = [];
    for (let i = 0; i < 50; i += 1) statuses.push((await v.signInWith(tenant.email, `wrong password ${i}`)).status);
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.deepEqual(statuses.slice(10), Array(40).fill(429));

    const right = await visitor().signInWith(tenant.email, tenant.password);
    assert.equal(right.status, 429, 'the right password does not get through while the limit holds');
    assert.equal(alertOf(right.text), TOO_MANY);

    const admin = await ctx.services.db('admins').where({ id: tenant.adminId }).first();
    assert.ok(admin.locked_until > new Date(), 'the account is locked');
    const refusals = await auditOf(tenant, 'admin.sign_in');
    assert.equal(refusals.filter((e) => e.details.reason === 'wrong_password').length, 10);
    assert.equal(refusals.filter((e) => e.details.reason === 'rate_limited').length, 41);
    assert.ok(refusals.every((e) => e.result === 'failure'));
    assert.equal(refusals[0].ip, v.ip, 'the audit keeps the address the attempt came from');
    const locks = await auditOf(tenant, 'admin.lock');
    assert.equal(locks.length, 1, 'one lock event, at the first refusal');
    assert.equal(locks[0].details.reason, 'wrong_passwords');
    const mails = await lockMails(tenant);
    assert.equal(mails.length, 1, 'the owner of the account is emailed once');
    assert.match(mails[0].body_text, /too many wrong passwords/);
  });

  it('SEC-22 an unknown email gets exactly the answers a known one gets, attempt after attempt', async () => {
    const tenant = await createTenant(ctx.services);
    const unknown = `${unique('nobody')}@example.test`;
    for (let i = 0; i < 12; i += 1) {
      const known = await visitor().signInWith(tenant.email, 'not the password');
      const stranger = await visitor().signInWith(unknown, 'not the password');
      assert.equal(stranger.status, known.status, `attempt ${i + 1}`);
      assert.equal(alertOf(stranger.text), alertOf(known.text), `attempt ${i + 1}`);
      assert.equal(alertOf(known.text), i < 10 ? GENERIC_FAILURE : TOO_MANY);
    }
  });

  it('SEC-22 the password step takes the same time for an unknown email and a wrong password (medians of interleaved runs)', async () => {
    const tenant = await createTenant(ctx.services);
    // Several accounts, so no account reaches its own limit (a 429 costs less than an argon2 check).
    const accounts = [tenant, ...(await Promise.all([1, 2, 3].map(() => addAdmin(ctx.services, tenant, 'admin'))))];
    const attempt = (email: () => string) => async () => {
      const v = visitor();
      const page = await v.agent.get('/admin/sign-in').set('X-Forwarded-For', v.ip);
      const res = await v.agent.post('/admin/sign-in').set('X-Forwarded-For', v.ip).type('form').send({ _csrf: csrfFrom(page.text), email: email(), password: 'not the password' });
      assert.equal(res.status, 401);
    };
    let i = 0;
    await assertSimilarTiming(
      { known: attempt(() => accounts[i++ % accounts.length].email), unknown: attempt(() => `${unique('nobody')}@example.test`) },
      // A reset of each account's count between attempts (outside the timing) keeps it under its own limit.
      { rounds: 27, toleranceMs: 8, before: () => Promise.all(accounts.map((a) => ctx.services.adminSignIn.unlock(tenant.actor, a.adminId))).then(() => undefined) },
    );
  });

  it('SEC-07 the password step is limited per IP address, across emails', async () => {
    const v = visitor();
    const statuses: number[] = [];
    for (let i = 0; i < PER_IP + 3; i += 1) statuses.push((await v.signInWith(`${unique('spray')}@example.test`, 'a guessed password')).status);
    assert.deepEqual(statuses.slice(0, PER_IP), Array(PER_IP).fill(401));
    assert.deepEqual(statuses.slice(PER_IP), [429, 429, 429]);
    const tenant = await createTenant(ctx.services);
    assert.equal((await v.signInWith(tenant.email, tenant.password)).status, 429, 'the address stays refused, even with a right password');
    assert.equal((await visitor().signInWith(tenant.email, tenant.password)).status, 303, 'another address is not affected');
  });

  it('100 wrong TOTP codes in one half-signed-in session: the 5th ends the session and locks the account; the current code then gets nowhere', async () => {
    const tenant = await createTenant(ctx.services);
    const v = visitor();
    assert.equal((await v.signInWith(tenant.email, tenant.password)).status, 303);
    const wrong = wrongCodeFor(tenant.totpSecret);
    const answers: Array<{ status: number; location?: string; text: string }> = [];
    for (let i = 0; i < 100; i += 1) {
      const page = await v.agent.get('/admin/sign-in/totp').set('X-Forwarded-For', v.ip);
      if (page.status !== 200) break; // the session no longer reaches the TOTP step
      const res = await v.agent.post('/admin/sign-in/totp').set('X-Forwarded-For', v.ip).type('form').send({ _csrf: csrfFrom(page.text), code: wrong });
      answers.push({ status: res.status, location: res.headers.location, text: res.text });
      if (res.status === 303) break; // sent back to the start
    }
    assert.equal(answers.length, 5, 'five codes were taken, then the session was sent back to the start');
    assert.deepEqual(answers.slice(0, 4).map((a) => a.status), [401, 401, 401, 401]);
    assert.match(answers[0].text, /4 tries are left/);
    assert.match(answers[3].text, /1 try is left/);
    assert.equal(answers[4].status, 303);
    assert.equal(answers[4].location, '/admin/sign-in');
    const signInPage = await v.agent.get('/admin/sign-in').set('X-Forwarded-For', v.ip);
    assert.match(signInPage.text, /Too many wrong codes/);
    assert.equal((await v.agent.get('/admin/sign-in/totp').set('X-Forwarded-For', v.ip)).status, 303, 'the TOTP step is gone');

    // The current code cannot be used in that session, nor after the password again.
    const current = authenticator.generate(tenant.totpSecret);
    const late = await v.agent.post('/admin/sign-in/totp').set('X-Forwarded-For', v.ip).type('form').send({ _csrf: csrfFrom(signInPage.text), code: current });
    assert.equal(late.status, 303);
    assert.equal(late.headers.location, '/admin/sign-in');
    const again = await visitor().signInWith(tenant.email, tenant.password);
    assert.equal(again.status, 401, 'a locked account fails the password step like a wrong password');
    assert.equal(alertOf(again.text), GENERIC_FAILURE);
    assert.equal((await v.agent.get('/admin/resources').set('X-Forwarded-For', v.ip)).status, 303, 'never signed in');

    const refusals = await auditOf(tenant, 'admin.sign_in');
    assert.deepEqual(refusals.map((e) => `${e.details.step}:${e.details.reason}`), [
      ...Array(5).fill('totp:wrong_code'),
      'password:locked',
    ]);
    assert.equal((await auditOf(tenant, 'admin.lock')).length, 1);
    const mails = await lockMails(tenant);
    assert.equal(mails.length, 1);
    assert.match(mails[0].body_text, /5 wrong authenticator codes/);
    assert.ok(mails[0].body_text.includes(v.ip), 'the email names the address');
  });

  it('SEC-07 20 concurrent wrong TOTP codes check at most 5 of them, then the account is locked', async () => {
    const tenant = await createTenant(ctx.services);
    const wrong = wrongCodeFor(tenant.totpSecret);
    const results = await Promise.all(Array.from({ length: 20 }, () => ctx.services.adminSignIn.verifyTotp(tenant.tenantId, tenant.adminId, wrong, { ip: freshIp() })));
    assert.ok(results.every((r) => !r.ok));
    const refusals = await auditOf(tenant, 'admin.sign_in');
    assert.equal(refusals.filter((e) => e.details.reason === 'wrong_code').length, 5, 'five codes were checked');
    assert.equal(refusals.filter((e) => e.details.reason === 'locked').length, 15);
    const current = authenticator.generate(tenant.totpSecret);
    assert.equal((await ctx.services.adminSignIn.verifyTotp(tenant.tenantId, tenant.adminId, current)).ok, false, 'the right code is refused while locked');
  });

  it('a correct code resets the count: 4 wrong codes, a right one, 4 wrong again do not lock', async () => {
    const tenant = await createTenant(ctx.services);
    const wrong = wrongCodeFor(tenant.totpSecret);
    const verify = (code: string) => ctx.services.adminSignIn.verifyTotp(tenant.tenantId, tenant.adminId, code);
    for (let i = 0; i < 4; i += 1) assert.equal((await verify(wrong)).ok, false);
    assert.equal((await verify(authenticator.generate(tenant.totpSecret))).ok, true);
    for (let i = 0; i < 4; i += 1) assert.deepEqual(await verify(wrong), { ok: false, locked: false, attemptsLeft: 4 - i });
    const admin = await ctx.services.db('admins').where({ id: tenant.adminId }).first();
    assert.equal(admin.locked_until, null);
  });

  it('the lock ends by itself after its time', async () => {
    const tenant = await createTenant(ctx.services);
    const wrong = wrongCodeFor(tenant.totpSecret);
    for (let i = 0; i < 5; i += 1) await ctx.services.adminSignIn.verifyTotp(tenant.tenantId, tenant.adminId, wrong);
    assert.equal((await visitor().signInWith(tenant.email, tenant.password)).status, 401, 'locked');
    await ctx.services.db('admins').where({ id: tenant.adminId }).update({ locked_until: ctx.services.db.raw("now() - interval '1 second'") });
    const agent = await signIn(tenant);
    assert.equal((await agent.get('/admin/resources')).status, 200, 'signed in once the lock ran out');
    const admin = await ctx.services.db('admins').where({ id: tenant.adminId }).first();
    assert.equal(admin.second_step_failures, 0, 'the count started afresh');
  });

  it('an owner lifts a lock from the Admins page (audited); an admin cannot', async () => {
    const tenant = await createTenant(ctx.services);
    const locked = await addAdmin(ctx.services, tenant, 'admin');
    const plainAdmin = await addAdmin(ctx.services, tenant, 'admin');
    const wrong = wrongCodeFor(locked.totpSecret);
    for (let i = 0; i < 5; i += 1) await ctx.services.adminSignIn.verifyTotp(locked.tenantId, locked.adminId, wrong);

    const owner = await signIn(tenant);
    const page = await owner.get('/admin/admins');
    assert.match(page.text, /Locked/);
    assert.match(page.text, new RegExp(`action="/admin/admins/${locked.adminId}/unlock"`));

    const byAdmin = await signIn(plainAdmin);
    const adminPage = await byAdmin.get('/admin/resources');
    const refused = await byAdmin.post(`/admin/admins/${locked.adminId}/unlock`).type('form').send({ _csrf: csrfFrom(adminPage.text) });
    assert.equal(refused.status, 403);
    assert.ok((await ctx.services.db('admins').where({ id: locked.adminId }).first()).locked_until, 'still locked');

    const done = await owner.post(`/admin/admins/${locked.adminId}/unlock`).type('form').send({ _csrf: csrfFrom(page.text) });
    assert.equal(done.status, 303);
    assert.match((await owner.get('/admin/admins')).text, /is unlocked and can sign in again/);
    const audit = await auditOf(tenant, 'admin.unlock');
    assert.equal(audit.length, 1);
    await signIn(locked);
  });

  it('an owner unlocking also lifts the per-account password limit', async () => {
    const tenant = await createTenant(ctx.services);
    const locked = await addAdmin(ctx.services, tenant, 'admin');
    for (let i = 0; i < 11; i += 1) await visitor().signInWith(locked.email, 'not the password');
    assert.equal((await visitor().signInWith(locked.email, locked.password)).status, 429);
    await ctx.services.adminSignIn.unlock(tenant.actor, locked.adminId);
    assert.equal((await visitor().signInWith(locked.email, locked.password)).status, 303);
  });

  it('5 wrong codes at the first-sign-in TOTP enrolment end the session and lock the account too', async () => {
    const tenant = await createTenant(ctx.services);
    await ctx.services.db('admins').where({ id: tenant.adminId }).update({ totp_secret_sealed: null });
    const v = visitor();
    const first = await v.signInWith(tenant.email, tenant.password);
    assert.match(first.headers.location, /^\/admin\/sign-in\/enroll/);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const page = await v.agent.get('/admin/sign-in/enroll').set('X-Forwarded-For', v.ip);
      if (page.status !== 200) break;
      const res = await v.agent.post('/admin/sign-in/enroll').set('X-Forwarded-For', v.ip).type('form').send({ _csrf: csrfFrom(page.text), code: wrongCodeFor(secretFrom(page.text)) });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [422, 422, 422, 422, 303]);
    const refusals = await auditOf(tenant, 'admin.sign_in');
    assert.equal(refusals.filter((e) => e.details.step === 'totp_enrollment' && e.details.reason === 'wrong_code').length, 5);
    assert.equal((await auditOf(tenant, 'admin.lock')).length, 1);
    assert.equal((await visitor().signInWith(tenant.email, tenant.password)).status, 401, 'locked');
  });

  it('invitation links are limited per IP address', async () => {
    const v = visitor();
    const statuses: number[] = [];
    for (let i = 0; i < PER_IP + 2; i += 1) statuses.push((await v.agent.get(`/admin/invite/${unique('guess')}`).set('X-Forwarded-For', v.ip)).status);
    assert.deepEqual(statuses.slice(0, PER_IP), Array(PER_IP).fill(404));
    assert.deepEqual(statuses.slice(PER_IP), [429, 429]);
  });

  it('a disabled admin with the right password is refused like a wrong password, and audited', async () => {
    const tenant = await createTenant(ctx.services);
    const other = await addAdmin(ctx.services, tenant, 'admin');
    await ctx.services.admins.setDisabled(tenant.actor, other.adminId, true);
    const res = await visitor().signInWith(other.email, TEST_PASSWORD);
    assert.equal(res.status, 401);
    assert.equal(alertOf(res.text), GENERIC_FAILURE);
    const refusals = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'admin.sign_in', target_id: other.adminId });
    assert.deepEqual(refusals.map((e) => e.details.reason), ['disabled']);
  });
});
