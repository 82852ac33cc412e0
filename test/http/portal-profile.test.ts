/**
 * The portal's profile actions through HTTP (SPEC §5.3): Change Name, Alias, Password, Email and
 * Phone. Each action: enabled → it works (database, audit, notices in the Outbox); disabled →
 * 403 for GET and POST and nothing changes; bad input → 422 with the message. Password, email
 * and phone need a second factor proven in the last 5 minutes (SEC-14); the password policy is
 * SEC-16. Clocks are moved by editing rows (sessions, codes), never by waiting.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createUser, unique, type TestTenant } from '../helpers/factories';
import { postForm, type Agent } from '../helpers/admin-agent';
import {
  createApiToken,
  createPortal,
  createPortalMember,
  createPortalWorld,
  type PortalWorld,
  enterLogin,
  enterSecondFactor,
  enterSecret,
  lastEmailedCode,
  sessionIdOf,
  setCookieValue,
  visitor,
  assertRedirect,
  fieldError,
  codeOtherThan,
} from '../helpers/portal';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';
import { verifyPassword } from '../../src/lib/passwords';

const PASSWORD = 'a long portal passphrase';
const NEW_PASSWORD = 'another long passphrase';
const SID = 'mfa.portal.sid';
const NOT_ENABLED = 'Your administrator has not enabled this action in this portal.';
const LOGIN_TAKEN = 'This login is taken.';
const WRONG_CURRENT = 'Your current password is not right.';
const CODE_WRONG = 'That code is not right, or it has expired. Check it, or ask for a new code.';
const RESEND_TOO_SOON = 'We sent a code less than a minute ago. Wait a minute, then ask for a new one.';
const STEP_UP_TEXT = 'This change needs a second factor proven in the last 5 minutes.';
const PROFILE_ACTIONS = ['change_name', 'change_alias', 'change_password', 'change_email', 'change_phone'];

/** RFC 4226 App. D seed: an imported HOTP token gives known codes, each usable once. */
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const hotp = (counter: number) => generateHotp(SEED, counter, { algorithm: 'SHA1', digits: 6 });


describe('portal profile actions (SPEC §5.3)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  type World = PortalWorld;
  const world = (allowedActions: string[] = PROFILE_ACTIONS, tenant?: TestTenant) => createPortalWorld(ctx, { allowedActions }, tenant);
  const member = (w: World, input: Record<string, unknown> = {}) => createPortalMember(ctx, w, { password: PASSWORD, ...input });

  const newEmail = (name = 'user') => `${unique(name)}@example.test`;
  const userRow = (id: string) => ctx.services.db('users').where({ id }).first();
  const audits = (w: World, action: string) => ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action }).orderBy('id');
  const messagesTo = (w: World, recipient: string) => ctx.services.db('messages').where({ tenant_id: w.tenant.tenantId, recipient }).orderBy('created_at');
  const changes = (userId: string) => ctx.services.db('portal_contact_changes').where({ user_id: userId }).orderBy('created_at');
  const setSecondFactorAt = (sid: string, value: number) =>
    ctx.services.db.raw(`UPDATE sessions SET data = jsonb_set(data, '{portal,secondFactorAt}', to_jsonb(?::bigint)) WHERE sid = ?`, [value, sid]);

  /** A visitor signed in with the password (the user has no token: no step-up ever due). */
  async function signedIn(w: World, login: string, password = PASSWORD): Promise<Agent> {
    const agent = visitor(ctx.app);
    assertRedirect(await enterLogin(agent, w.portal, login), `${w.portal.base}sign-in/verify`, 'login step');
    assertRedirect(await enterSecret(agent, w.portal, password), w.portal.base, 'password step');
    return agent;
  }

  /** A user with an HOTP token in the resource: codes hotp(0), hotp(1), ... */
  async function withHotp(w: World, userId: string): Promise<void> {
    await createApiToken(w, { userId, type: 'hotp', secret: base32Encode(SEED), counter: 0 }, w.portal.resource.id);
  }

  /** Password then a token code; answers the agent and its session id. */
  async function signedInWithToken(w: World, login: string, code: string): Promise<{ agent: Agent; sid: string }> {
    const agent = visitor(ctx.app);
    await enterLogin(agent, w.portal, login);
    assertRedirect(await enterSecret(agent, w.portal, PASSWORD), `${w.portal.base}sign-in/second-factor`, 'password step');
    const res = await enterSecondFactor(agent, w.portal, code);
    assertRedirect(res, w.portal.base, 'second factor');
    return { agent, sid: sessionIdOf(setCookieValue(res, SID)!) };
  }

  const actionUrl = (w: World, path: string) => `${w.portal.base}actions/${path}`;
  /** POSTs a form of an action with a CSRF token read from the dashboard. */
  const post = (agent: Agent, w: World, path: string, fields: Record<string, string>) => postForm(agent, w.portal.base, actionUrl(w, path), fields);

  async function assertRefused(agent: Agent, w: World, path: string, fields: Record<string, string>): Promise<void> {
    const page = await agent.get(actionUrl(w, path));
    assert.equal(page.status, 403, `GET ${path}`);
    assert.ok(page.text.includes(NOT_ENABLED), `GET ${path} says why`);
    const res = await post(agent, w, path, fields);
    assert.equal(res.status, 403, `POST ${path}`);
    assert.ok(res.text.includes(NOT_ENABLED), `POST ${path} says why`);
  }

  describe('Change Name', () => {
    it('enabled: the form shows the name; a trimmed new name is saved, audited and shown on the dashboard', async () => {
      const w = await world(['change_name']);
      const user = await member(w, { firstName: 'Ann', lastName: 'Lee' });
      const agent = await signedIn(w, user.login);
      const dashboard = await agent.get(w.portal.base);
      assert.ok(dashboard.text.includes(`href="${actionUrl(w, 'change_name')}"`), 'offered on the dashboard');
      const form = await agent.get(actionUrl(w, 'change_name'));
      assert.equal(form.status, 200);
      assert.match(form.text, /<h1>Change your name<\/h1>/);
      assert.match(form.text, /<label for="f-firstName">First name<\/label>/);
      assert.match(form.text, /value="Ann"/);

      assertRedirect(await post(agent, w, 'change_name', { firstName: '  Anna  ', lastName: 'Lee-Smith' }), w.portal.base);
      const row = await userRow(user.id);
      assert.equal(row.first_name, 'Anna');
      assert.equal(row.last_name, 'Lee-Smith');
      const [event] = await audits(w, 'portal.profile.name_change');
      assert.equal(event.target_id, user.id);
      assert.equal(event.resource_id, w.portal.resource.id);
      assert.equal(event.actor_type, 'user');
      assert.deepEqual(event.details, { fields: ['firstName', 'lastName'] });
      const after = await agent.get(w.portal.base);
      assert.ok(after.text.includes('Your name was changed.'));
      assert.ok(after.text.includes('Anna Lee-Smith'));
    });

    it('a name over 100 characters is a 422 with the message, and nothing changes', async () => {
      const w = await world(['change_name']);
      const user = await member(w, { firstName: 'Ann' });
      const agent = await signedIn(w, user.login);
      const res = await post(agent, w, 'change_name', { firstName: 'x'.repeat(101), lastName: 'Lee' });
      assert.equal(res.status, 422);
      assert.equal(fieldError(res.text, 'firstName'), 'Use at most 100 characters.');
      assert.equal((await userRow(user.id)).first_name, 'Ann');
      assert.equal((await audits(w, 'portal.profile.name_change')).length, 0);
    });

    it('disabled: GET and POST answer 403 and nothing changes', async () => {
      const w = await world(PROFILE_ACTIONS.filter((a) => a !== 'change_name'));
      const user = await member(w, { firstName: 'Ann' });
      const agent = await signedIn(w, user.login);
      await assertRefused(agent, w, 'change_name', { firstName: 'Eve', lastName: 'X' });
      assert.equal((await userRow(user.id)).first_name, 'Ann');
      assert.equal((await audits(w, 'portal.profile.name_change')).length, 0);
    });

    it('a visitor who is not signed in is sent to sign in and changes nothing', async () => {
      const w = await world(['change_name']);
      const user = await member(w, { firstName: 'Ann' });
      const agent = visitor(ctx.app);
      assertRedirect(await agent.get(actionUrl(w, 'change_name')), w.portal.base);
      assertRedirect(await post(agent, w, 'change_name', { firstName: 'Eve', lastName: '' }), w.portal.base);
      assert.equal((await userRow(user.id)).first_name, 'Ann');
    });
  });

  describe('Change Alias', () => {
    it('enabled: the new login is saved and audited, and signs the user in from then on', async () => {
      const w = await world(['change_alias']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const form = await agent.get(actionUrl(w, 'change_alias'));
      assert.equal(form.status, 200);
      assert.match(form.text, /<h1>Change your login<\/h1>/);
      const login = unique('New.Login');
      assertRedirect(await post(agent, w, 'change_alias', { login: `  ${login} ` }), w.portal.base);
      assert.equal((await userRow(user.id)).login, login);
      const [event] = await audits(w, 'portal.profile.alias_change');
      assert.deepEqual(event.details, { from: user.login, to: login });
      await signedIn(w, login.toLowerCase());
    });

    it('a login taken in the tenant (in any case) is refused with 409; an address-like login must be your own email (no probing of colleagues\' addresses); a login of another tenant is free', async () => {
      const w = await world(['change_alias']);
      const user = await member(w);
      const other = await createUser(ctx.services, w.tenant, { login: unique('Taken'), email: newEmail('taken') });
      const agent = await signedIn(w, user.login);
      const taken = await post(agent, w, 'change_alias', { login: other.login.toUpperCase() });
      assert.equal(taken.status, 409);
      assert.equal(fieldError(taken.text, 'login'), LOGIN_TAKEN);
      for (const login of [other.email!.toUpperCase(), newEmail('nobody')]) {
        const res = await post(agent, w, 'change_alias', { login });
        assert.equal(res.status, 422, `${login}: the same answer whether or not someone uses it`);
        assert.match(fieldError(res.text, 'login') ?? '', /must be your own email address/);
      }
      assert.equal((await userRow(user.id)).login, user.login);
      assert.equal((await audits(w, 'portal.profile.alias_change')).length, 0);

      const elsewhere = await createUser(ctx.services, await createTenant(ctx.services), { login: unique('elsewhere') });
      assertRedirect(await post(agent, w, 'change_alias', { login: elsewhere.login }), w.portal.base, 'a login of another tenant');
      assert.equal((await userRow(user.id)).login, elsewhere.login);
    });

    it('bad logins are a 422 with the message: spaces, empty, too long', async () => {
      const w = await world(['change_alias']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const cases: Array<[string, string]> = [
        ['has space', 'Use letters, digits and . _ @ + - only (no spaces).'],
        ['   ', 'Enter a login.'],
        ['x'.repeat(101), 'Use at most 100 characters.'],
        [user.login, 'This is already your login.'],
      ];
      for (const [login, message] of cases) {
        const res = await post(agent, w, 'change_alias', { login });
        assert.equal(res.status, 422, login);
        assert.equal(fieldError(res.text, 'login'), message, login);
      }
      assert.equal((await userRow(user.id)).login, user.login);
    });

    it('disabled: GET and POST answer 403 and nothing changes', async () => {
      const w = await world(['change_name']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      await assertRefused(agent, w, 'change_alias', { login: unique('new') });
      assert.equal((await userRow(user.id)).login, user.login);
    });
  });

  describe('Change Password (SEC-16)', () => {
    const fields = (current: string, next: string, confirm = next) => ({ currentPassword: current, newPassword: next, confirmPassword: confirm });

    it('enabled: with the current password the new one is stored (argon2id), audited without any password, and the user is emailed', async () => {
      const w = await world(['change_password']);
      const email = newEmail('pw');
      const user = await member(w, { email });
      const agent = await signedIn(w, user.login);
      const form = await agent.get(actionUrl(w, 'change_password'));
      assert.equal(form.status, 200);
      assert.match(form.text, /autocomplete="current-password"/);
      assert.match(form.text, /autocomplete="new-password"/);

      assertRedirect(await post(agent, w, 'change_password', fields(PASSWORD, NEW_PASSWORD)), w.portal.base);
      const row = await userRow(user.id);
      assert.match(row.password_hash, /^\$argon2id\$/);
      assert.ok(await verifyPassword(row.password_hash, NEW_PASSWORD));
      assert.ok(!(await verifyPassword(row.password_hash, PASSWORD)));
      const [event] = await audits(w, 'portal.profile.password_change');
      assert.equal(event.result, 'success');
      const stored = JSON.stringify(event);
      assert.ok(!stored.includes(NEW_PASSWORD) && !stored.includes(PASSWORD), 'no password in the audit');
      const notices = await messagesTo(w, email);
      assert.equal(notices.length, 1);
      assert.equal(notices[0].subject, 'Your password was changed');
      assert.ok(!notices[0].body_text.includes(NEW_PASSWORD));
      await signedIn(w, user.login, NEW_PASSWORD);
    });

    it('SEC-17 a password change signs the user out of their other browsers, in this portal and in others, and keeps this one', async () => {
      const w = await world(['change_password']);
      const user = await member(w);
      const elsewhere = await createPortal(ctx.services, w.tenant, { allowedActions: [] });
      await ctx.services.users.assign(w.tenant.actor, elsewhere.resource.id, user.id);
      const other = await signedIn(w, user.login);
      const otherPortal = visitor(ctx.app);
      await enterLogin(otherPortal, elsewhere, user.login);
      assertRedirect(await enterSecret(otherPortal, elsewhere, PASSWORD), elsewhere.base);
      const agent = await signedIn(w, user.login);
      const bystander = await member(w);
      const bystanderAgent = await signedIn(w, bystander.login);

      assertRedirect(await post(agent, w, 'change_password', fields(PASSWORD, NEW_PASSWORD)), w.portal.base);
      assert.match((await agent.get(w.portal.base)).text, /id="tokens-h"/, 'this browser stays signed in');
      assert.doesNotMatch((await other.get(w.portal.base)).text, /id="tokens-h"/, 'another browser is signed out');
      assert.doesNotMatch((await otherPortal.get(elsewhere.base)).text, /id="tokens-h"/, 'so is a session at another portal');
      assert.match((await bystanderAgent.get(w.portal.base)).text, /id="tokens-h"/, 'other users keep their sessions');
      const [event] = await audits(w, 'portal.profile.password_change');
      assert.equal(event.details.endedSessions, 2);
    });

    it('a wrong current password is a 422 with one message; it changes nothing and does not count toward the sign-in lock', async () => {
      const w = await world(['change_password']);
      const email = newEmail('pw');
      const user = await member(w, { email });
      const agent = await signedIn(w, user.login);
      const before = (await userRow(user.id)).password_hash;
      const res = await post(agent, w, 'change_password', fields('not my password', NEW_PASSWORD));
      assert.equal(res.status, 422);
      assert.equal(fieldError(res.text, 'currentPassword'), WRONG_CURRENT);
      assert.ok(!res.text.includes(NEW_PASSWORD), 'typed passwords are not echoed');
      assert.equal((await userRow(user.id)).password_hash, before);
      const membership = await ctx.services.db('resource_users').where({ resource_id: w.portal.resource.id, user_id: user.id }).first();
      assert.equal(membership.fail_count, 0);
      const [event] = await audits(w, 'portal.profile.password_change');
      assert.equal(event.result, 'failure');
      assert.equal(event.details.reason, 'wrong_current_password');
      assert.equal((await messagesTo(w, email)).length, 0);
    });

    it('common, short, unconfirmed or missing passwords are a 422 with the message', async () => {
      const w = await world(['change_password']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const before = (await userRow(user.id)).password_hash;
      const cases: Array<[Record<string, string>, string, string]> = [
        [fields(PASSWORD, 'password123'), 'newPassword', 'This password is too common; choose another.'],
        [fields(PASSWORD, 'short'), 'newPassword', 'Use at least 8 characters.'],
        [fields(PASSWORD, 'x'.repeat(129)), 'newPassword', 'Use at most 128 characters.'],
        [fields(PASSWORD, NEW_PASSWORD, `${NEW_PASSWORD}!`), 'confirmPassword', 'The two new passwords are not the same.'],
        [fields('', NEW_PASSWORD), 'currentPassword', 'Enter your current password.'],
        [fields(PASSWORD, ''), 'newPassword', 'Enter a new password.'],
      ];
      for (const [input, field, message] of cases) {
        const res = await post(agent, w, 'change_password', input);
        assert.equal(res.status, 422, message);
        assert.equal(fieldError(res.text, field), message);
      }
      assert.equal((await userRow(user.id)).password_hash, before);
    });

    it('SEC-14 step-up: with a second factor older than 5 minutes GET goes to the step-up page and POST is 403; right after a fresh second factor it works', async () => {
      const w = await world(['change_password']);
      const user = await member(w, { email: newEmail('pw') });
      await withHotp(w, user.id);
      const { agent, sid } = await signedInWithToken(w, user.login, hotp(0));
      const before = (await userRow(user.id)).password_hash;

      await setSecondFactorAt(sid, Date.now() - 6 * 60_000);
      const page = await agent.get(actionUrl(w, 'change_password'));
      assertRedirect(page, `${w.portal.base}step-up?next=${encodeURIComponent(actionUrl(w, 'change_password'))}`, 'GET goes to step-up');
      const refused = await post(agent, w, 'change_password', fields(PASSWORD, NEW_PASSWORD));
      assert.equal(refused.status, 403);
      assert.ok(refused.text.includes(STEP_UP_TEXT));
      assert.equal((await userRow(user.id)).password_hash, before, 'unchanged without a fresh second factor');

      // The step-up page brings the user back, and the change then goes through.
      const stepUp = await postForm(agent, `${w.portal.base}step-up`, `${w.portal.base}step-up`, { code: hotp(1), next: actionUrl(w, 'change_password') });
      assertRedirect(stepUp, actionUrl(w, 'change_password'), 'back to the action');
      assertRedirect(await post(agent, w, 'change_password', fields(PASSWORD, NEW_PASSWORD)), w.portal.base);
      assert.ok(await verifyPassword((await userRow(user.id)).password_hash, NEW_PASSWORD));

      // A fresh sign-in with a second factor may change it right away.
      const again = visitor(ctx.app);
      await enterLogin(again, w.portal, user.login);
      assertRedirect(await enterSecret(again, w.portal, NEW_PASSWORD), `${w.portal.base}sign-in/second-factor`);
      assertRedirect(await enterSecondFactor(again, w.portal, hotp(2)), w.portal.base);
      assertRedirect(await post(again, w, 'change_password', fields(NEW_PASSWORD, PASSWORD)), w.portal.base);
      assert.ok(await verifyPassword((await userRow(user.id)).password_hash, PASSWORD));
    });

    it('a user without a password (signs in by emailed code) can set one without a current password', async () => {
      const w = await world(['change_password']);
      const email = newEmail('nopw');
      const user = await createUser(ctx.services, w.tenant, { email });
      await ctx.services.users.assign(w.tenant.actor, w.portal.resource.id, user.id);
      const agent = visitor(ctx.app);
      await enterLogin(agent, w.portal, user.login);
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, email))!;
      assertRedirect(await enterSecret(agent, w.portal, code), w.portal.base);
      const form = await agent.get(actionUrl(w, 'change_password'));
      assert.match(form.text, /<h1>Set a password<\/h1>/);
      assert.doesNotMatch(form.text, /name="currentPassword"/);
      assertRedirect(await post(agent, w, 'change_password', fields('', NEW_PASSWORD)), w.portal.base);
      assert.ok(await verifyPassword((await userRow(user.id)).password_hash, NEW_PASSWORD));
    });

    it('disabled: GET and POST answer 403 and nothing changes', async () => {
      const w = await world(['change_name']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const before = (await userRow(user.id)).password_hash;
      await assertRefused(agent, w, 'change_password', fields(PASSWORD, NEW_PASSWORD));
      assert.equal((await userRow(user.id)).password_hash, before);
    });
  });

  describe('Change Email', () => {
    async function emailUser(w: World) {
      const oldEmail = newEmail('old');
      const user = await member(w, { email: oldEmail });
      return { user, oldEmail, agent: await signedIn(w, user.login) };
    }

    it('a code goes to the new address; once it is confirmed the address changes, both addresses are told, and it is audited', async () => {
      const w = await world(['change_email']);
      const { user, oldEmail, agent } = await emailUser(w);
      const form = await agent.get(actionUrl(w, 'change_email'));
      assert.equal(form.status, 200);
      assert.match(form.text, /<h1>Change your email address<\/h1>/);
      assert.ok(form.text.includes(oldEmail));

      const target = newEmail('New');
      assertRedirect(await post(agent, w, 'change_email', { email: target }), actionUrl(w, 'change_email'));
      const to = target.toLowerCase();
      assert.equal((await userRow(user.id)).email, oldEmail, 'not changed before the code');
      const sent = await messagesTo(w, to);
      assert.equal(sent.length, 1);
      assert.equal(sent[0].channel, 'email');
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, to))!;
      assert.match(code, /^\d{6}$/);
      const [pending] = await changes(user.id);
      assert.equal(pending.resource_id, w.portal.resource.id);
      assert.ok(!pending.code_hash.includes(code), 'stored hashed');
      const page = await agent.get(actionUrl(w, 'change_email'));
      assert.ok(page.text.includes(`We sent a 6-digit code to <strong>${to}</strong>`));
      assert.match(page.text, /name="code"/);

      assertRedirect(await post(agent, w, 'change_email/confirm', { code }), w.portal.base);
      assert.equal((await userRow(user.id)).email, to);
      const oldNotices = await messagesTo(w, oldEmail);
      assert.equal(oldNotices.length, 1, 'the old address is told');
      assert.equal(oldNotices[0].subject, 'Your email address was changed');
      assert.ok(!oldNotices[0].body_text.includes(code));
      const newMessages = await messagesTo(w, to);
      assert.equal(newMessages.length, 2, 'the code and the notice');
      assert.equal(newMessages[1].subject, 'Your email address was changed');
      const events = await audits(w, 'portal.profile.email_change');
      assert.equal(events.length, 1);
      assert.equal(events[0].result, 'success');
      assert.deepEqual(events[0].details, { from: oldEmail, to });
      assert.equal((await audits(w, 'portal.profile.email_change.code_sent')).length, 1);
      assert.ok((await agent.get(w.portal.base)).text.includes(`<dd>${to}</dd>`));

      const reuse = await post(agent, w, 'change_email/confirm', { code });
      assert.equal(reuse.status, 422, 'a code works once');
    });

    it('a wrong code is refused with 422; five wrong codes use the change up and the right code is then refused', async () => {
      const w = await world(['change_email']);
      const { user, oldEmail, agent } = await emailUser(w);
      const to = newEmail('new');
      await post(agent, w, 'change_email', { email: to });
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, to))!;
      const wrong = codeOtherThan(code);
      for (let i = 1; i <= 5; i++) {
        const res = await post(agent, w, 'change_email/confirm', { code: wrong });
        assert.equal(res.status, 422, `wrong code ${i}`);
        assert.ok(res.text.includes(CODE_WRONG), `wrong code ${i}: the message`);
        if (i < 5) assert.equal(fieldError(res.text, 'code'), CODE_WRONG, 'inline while the change is open');
      }
      const right = await post(agent, w, 'change_email/confirm', { code });
      assert.equal(right.status, 422);
      assert.ok(right.text.includes(CODE_WRONG));
      assert.match(right.text, /name="email"/, 'the page asks for the address again');
      assert.equal((await changes(user.id))[0].attempts, 5, 'no sixth attempt');
      assert.equal((await userRow(user.id)).email, oldEmail);
      assert.equal((await messagesTo(w, oldEmail)).length, 0);
      const failures = await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'portal.profile.email_change', result: 'failure' });
      assert.equal(failures.length, 6);
    });

    it('an expired code is refused', async () => {
      const w = await world(['change_email']);
      const { user, oldEmail, agent } = await emailUser(w);
      const to = newEmail('new');
      await post(agent, w, 'change_email', { email: to });
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, to))!;
      await ctx.services.db('portal_contact_changes').where({ user_id: user.id }).update({ expires_at: ctx.services.db.raw(`now() - interval '1 second'`) });
      const res = await post(agent, w, 'change_email/confirm', { code });
      assert.equal(res.status, 422);
      assert.ok(res.text.includes(CODE_WRONG));
      assert.equal((await userRow(user.id)).email, oldEmail);
      assert.equal((await changes(user.id))[0].used_at, null);
    });

    it('a code is sent at most once a minute; a later resend replaces the code and the old one stops working', async () => {
      const w = await world(['change_email']);
      const { user, agent } = await emailUser(w);
      const to = newEmail('new');
      await post(agent, w, 'change_email', { email: to });
      const first = (await lastEmailedCode(ctx.services, w.tenant.tenantId, to))!;
      const throttled = await post(agent, w, 'change_email/resend', {});
      assert.equal(throttled.status, 429);
      assert.ok(throttled.text.includes(RESEND_TOO_SOON));
      const another = await post(agent, w, 'change_email', { email: newEmail('other') });
      assert.equal(another.status, 429, 'a second address within the minute too');
      assert.equal((await messagesTo(w, to)).length, 1);

      await ctx.services.db('portal_contact_changes').where({ user_id: user.id }).update({ created_at: ctx.services.db.raw(`now() - interval '2 minutes'`) });
      assertRedirect(await post(agent, w, 'change_email/resend', {}), actionUrl(w, 'change_email'));
      assert.equal((await messagesTo(w, to)).length, 2);
      const second = (await lastEmailedCode(ctx.services, w.tenant.tenantId, to))!;
      if (first !== second) assert.equal((await post(agent, w, 'change_email/confirm', { code: first })).status, 422, 'the old code no longer works');
      assertRedirect(await post(agent, w, 'change_email/confirm', { code: second }), w.portal.base);
      assert.equal((await userRow(user.id)).email, to);
    });

    it('a pending change is bound to the user and the resource: the code does nothing in another portal of the same user', async () => {
      const w = await world(['change_email']);
      const other = await world(['change_email'], w.tenant);
      const { user, oldEmail, agent } = await emailUser(w);
      await ctx.services.users.assign(w.tenant.actor, other.portal.resource.id, user.id);
      const to = newEmail('new');
      await post(agent, w, 'change_email', { email: to });
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, to))!;
      const elsewhere = await signedIn(other, user.login);
      const res = await post(elsewhere, other, 'change_email/confirm', { code });
      assert.equal(res.status, 422);
      assert.equal((await userRow(user.id)).email, oldEmail);
      assert.equal((await changes(user.id))[0].attempts, 0, 'the change of the other portal is not even tried');
    });

    it('"Use another email address" drops the pending change: its code stops working', async () => {
      const w = await world(['change_email']);
      const { user, oldEmail, agent } = await emailUser(w);
      const to = newEmail('new');
      await post(agent, w, 'change_email', { email: to });
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, to))!;
      assertRedirect(await post(agent, w, 'change_email/cancel', {}), actionUrl(w, 'change_email'));
      const page = await agent.get(actionUrl(w, 'change_email'));
      assert.match(page.text, /name="email"/, 'the address form again');
      assert.ok(page.text.includes('The change was cancelled.'));
      assert.equal((await post(agent, w, 'change_email/confirm', { code })).status, 422);
      assert.equal((await userRow(user.id)).email, oldEmail);
      assert.equal((await audits(w, 'portal.profile.email_change.cancelled')).length, 1);
    });

    it('bad addresses are a 422 with the message, and no code is sent', async () => {
      const w = await world(['change_email']);
      const { user, oldEmail, agent } = await emailUser(w);
      const cases: Array<[string, string]> = [
        ['not-an-address', 'Enter a valid email address, like name@example.com.'],
        ['  ', 'Enter your new email address.'],
        [oldEmail.toUpperCase(), 'This is already your email address.'],
      ];
      for (const [email, message] of cases) {
        const res = await post(agent, w, 'change_email', { email });
        assert.equal(res.status, 422, email);
        assert.equal(fieldError(res.text, 'email'), message, email);
      }
      assert.equal((await changes(user.id)).length, 0);
    });

    it('SEC-14 step-up: with a second factor older than 5 minutes no code is sent and nothing is confirmed', async () => {
      const w = await world(['change_email']);
      const oldEmail = newEmail('old');
      const user = await member(w, { email: oldEmail });
      await withHotp(w, user.id);
      const { agent, sid } = await signedInWithToken(w, user.login, hotp(0));
      const to = newEmail('new');
      assertRedirect(await post(agent, w, 'change_email', { email: to }), actionUrl(w, 'change_email'), 'fresh: works');
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, to))!;

      await setSecondFactorAt(sid, Date.now() - 6 * 60_000);
      assert.equal((await agent.get(actionUrl(w, 'change_email'))).status, 303, 'GET goes to step-up');
      const confirm = await post(agent, w, 'change_email/confirm', { code });
      assert.equal(confirm.status, 403);
      assert.ok(confirm.text.includes(STEP_UP_TEXT));
      assert.equal((await userRow(user.id)).email, oldEmail);
      assert.equal((await changes(user.id))[0].attempts, 0, 'no attempt spent');
    });

    it('disabled: GET and POST answer 403, no code is sent and nothing changes', async () => {
      const w = await world(['change_phone']);
      const { user, oldEmail, agent } = await emailUser(w);
      const to = newEmail('new');
      await assertRefused(agent, w, 'change_email', { email: to });
      const confirm = await post(agent, w, 'change_email/confirm', { code: '123456' });
      assert.equal(confirm.status, 403);
      assert.equal((await messagesTo(w, to)).length, 0);
      assert.equal((await changes(user.id)).length, 0);
      assert.equal((await userRow(user.id)).email, oldEmail);
    });
  });

  describe('Change Phone', () => {
    it('an SMS code goes to the new number (E.164); once confirmed the number changes, the old and new numbers and the email are told', async () => {
      const w = await world(['change_phone']);
      const email = newEmail('ph');
      const oldPhone = '+14155550100';
      const newPhone = `+4477009${String(Date.now()).slice(-5)}`;
      const user = await member(w, { email, phone: oldPhone });
      const agent = await signedIn(w, user.login);
      const form = await agent.get(actionUrl(w, 'change_phone'));
      assert.equal(form.status, 200);
      assert.match(form.text, /type="tel"/);

      for (const bad of ['0123 456', '+0123456789', '14155550123']) {
        const res = await post(agent, w, 'change_phone', { phone: bad });
        assert.equal(res.status, 422, bad);
        assert.equal(fieldError(res.text, 'phone'), 'Enter the number in international format, like +14155550123.');
      }
      assertRedirect(await post(agent, w, 'change_phone', { phone: ` ${newPhone} ` }), actionUrl(w, 'change_phone'));
      const [sms] = await messagesTo(w, newPhone);
      assert.equal(sms.channel, 'sms');
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, newPhone))!;
      assert.match(code, /^\d{6}$/);
      assert.equal((await userRow(user.id)).phone, oldPhone);

      const wrong = await post(agent, w, 'change_phone/confirm', { code: codeOtherThan(code) });
      assert.equal(wrong.status, 422);
      assertRedirect(await post(agent, w, 'change_phone/confirm', { code }), w.portal.base);
      assert.equal((await userRow(user.id)).phone, newPhone);
      const oldNotice = await messagesTo(w, oldPhone);
      assert.equal(oldNotice.length, 1, 'the old number is told');
      assert.equal(oldNotice[0].channel, 'sms');
      assert.equal((await messagesTo(w, newPhone)).length, 2, 'the code and the notice');
      const [mail] = await messagesTo(w, email);
      assert.equal(mail.subject, 'Your phone number was changed');
      const [event] = await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'portal.profile.phone_change', result: 'success' });
      assert.deepEqual(event.details, { from: oldPhone, to: newPhone });
    });

    it('disabled: GET and POST answer 403 and nothing is sent', async () => {
      const w = await world(['change_email']);
      const user = await member(w, { phone: '+14155550100' });
      const agent = await signedIn(w, user.login);
      await assertRefused(agent, w, 'change_phone', { phone: '+14155550199' });
      assert.equal((await messagesTo(w, '+14155550199')).length, 0);
      assert.equal((await userRow(user.id)).phone, '+14155550100');
    });
  });
});
