/**
 * Issue 15, portal items, through HTTP: the unhappy paths and the rules behind the browser walk
 * in test/e2e/portal-journey.test.ts. §1 the lock is told only past the first factor (SEC-22
 * holds for everyone else) and emailed once per lock, on every path (SEC-08); §2 a sign-in code
 * serves the sign-ins of its user started while it is open, never more guesses; §4 only a token
 * the user removed here comes back; §7 an address is removed only where safe, and the refusal
 * says why. Clocks are moved by editing rows, never by waiting.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { unique } from '../helpers/factories';
import { postForm, type Agent } from '../helpers/admin-agent';
import {
  alertOf,
  assertRedirect,
  codeOtherThan,
  createApiToken,
  createPortal,
  createPortalMember,
  createPortalWorld,
  enterLogin,
  enterSecondFactor,
  enterSecret,
  lastEmailedCode,
  visitor,
  type PortalWorld,
} from '../helpers/portal';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';
import { SIGN_IN_FAILED } from '../../src/portal/sign-in.controller';
import { SIGN_IN_ADDRESS_KEPT } from '../../src/portal-actions/contact-removal.service';
import { defaultTokenName, defaultWebauthnName } from '../../src/tokens/token-names';

const PASSWORD = 'a long portal passphrase';
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const hotp = (counter: number) => generateHotp(SEED, counter, { algorithm: 'SHA1', digits: 6 });
const LOCKED = /Your account is locked in this portal after too many wrong attempts\.<\/strong> /;

describe('issue 15 portal items through HTTP', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  type World = PortalWorld;
  const world = (options: Parameters<typeof createPortal>[2] = {}) => createPortalWorld(ctx, options);
  const member = (w: World, input: Record<string, unknown> = {}) => createPortalMember(ctx, w, input);
  const newEmail = (name = 'user') => `${unique(name)}@example.test`;
  const lockMails = (w: World, to: string) => ctx.services.db('messages').where({ tenant_id: w.tenant.tenantId, recipient: to }).where('subject', 'like', '%is locked');
  const addHotp = (w: World, userId: string, resourceId: string | undefined = w.portal.resource.id) => createApiToken(w, { userId, type: 'hotp', secret: base32Encode(SEED), counter: 0 }, resourceId);
  const post = (agent: Agent, w: World, path: string, fields: Record<string, string> = {}) => postForm(agent, w.portal.base, `${w.portal.base}${path}`, fields);

  async function passwordSignIn(w: World, login: string, next: string) {
    const agent = visitor(ctx.app);
    assertRedirect(await enterLogin(agent, w.portal, login), `${w.portal.base}sign-in/verify`);
    assertRedirect(await enterSecret(agent, w.portal, PASSWORD), next);
    return agent;
  }

  describe('§1 locks', () => {
    it('a password-less user locked by wrong codes is told with the right code (423); a wrong code while locked reads as before', async () => {
      const w = await world({ resource: { failedAttemptsLimit: 3, lockMinutes: 10 } });
      const email = newEmail('code');
      const user = await member(w, { email });
      const agent = visitor(ctx.app);
      await enterLogin(agent, w.portal, user.login);
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, email))!;
      for (let i = 0; i < 3; i++) assert.equal((await enterSecret(agent, w.portal, codeOtherThan(code))).status, 401);
      const wrong = await enterSecret(agent, w.portal, codeOtherThan(code));
      assert.equal(wrong.status, 401);
      assert.equal(alertOf(wrong.text), SIGN_IN_FAILED);
      const right = await enterSecret(agent, w.portal, code);
      assert.equal(right.status, 423);
      assert.match(right.text, LOCKED);
      assert.match(right.text, /You can try again in 10 minutes \(after \d{4}-\d\d-\d\d \d\d:\d\d UTC\)\./);
      assert.ok(!(await agent.get(w.portal.base)).text.includes('id="tokens-h"'), 'not signed in');
    });

    it('a lock of duration 0 says it lasts until an administrator unlocks', async () => {
      const w = await world({ resource: { failedAttemptsLimit: 3, lockMinutes: 0 } });
      const user = await member(w, { password: PASSWORD, email: newEmail() });
      const agent = visitor(ctx.app);
      await enterLogin(agent, w.portal, user.login);
      for (let i = 0; i < 3; i++) assert.equal((await enterSecret(agent, w.portal, 'not the passphrase')).status, 401);
      const right = await enterSecret(agent, w.portal, PASSWORD);
      assert.equal(right.status, 423);
      assert.match(right.text, /It stays locked until an administrator unlocks it\./);
    });

    it('SEC-22 an unknown login and an unassigned user never see the lock message', async () => {
      const w = await world({ resource: { failedAttemptsLimit: 3 } });
      const outsider = await createPortalMember(ctx, w, { password: PASSWORD }, null);
      for (const login of [unique('ghost'), outsider.login]) {
        const agent = visitor(ctx.app);
        await enterLogin(agent, w.portal, login);
        for (let i = 0; i < 4; i++) {
          const res = await enterSecret(agent, w.portal, PASSWORD);
          assert.equal(res.status, 401, login);
          assert.equal(alertOf(res.text), SIGN_IN_FAILED);
        }
      }
    });

    it('one lock email per lock, whatever the path (portal password, API codes); a new lock after an unlock emails again', async () => {
      const w = await world({ resource: { failedAttemptsLimit: 3, lockMinutes: 5 } });
      const email = newEmail('locked');
      const user = await member(w, { password: PASSWORD, email });
      await addHotp(w, user.id);
      const agent = visitor(ctx.app);
      await enterLogin(agent, w.portal, user.login);
      for (let i = 0; i < 5; i++) await enterSecret(agent, w.portal, 'not the passphrase');
      await enterSecret(agent, w.portal, PASSWORD);
      const first = await lockMails(w, email);
      assert.equal(first.length, 1, 'six attempts, one lock, one email');
      assert.match(first[0].body_text, new RegExp(`your account "${user.login}"`));
      assert.match(first[0].body_text, /If this was not you/);
      const audited = await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'user.lock.notified', target_id: user.id });
      assert.equal(audited.length, 1);

      assert.equal((await w.api.post(`/resources/${w.portal.resource.id}/users/${user.id}/unlock`)).status, 204);
      for (let i = 0; i < 4; i++) {
        const res = await w.api.post(`/resources/${w.portal.resource.id}/authenticate`, { login: user.login, otp: codeOtherThan(...Array.from({ length: 30 }, (_, n) => hotp(n))) });
        assert.equal(res.body.result, false);
      }
      assert.equal((await lockMails(w, email)).length, 2, 'the API lock is emailed too, once');
    });

    it('a lock left untold (its notice never went out) is told at the next portal refusal, once', async () => {
      const w = await world({ resource: { failedAttemptsLimit: 3, lockMinutes: 5 } });
      const email = newEmail('untold');
      const user = await member(w, { password: PASSWORD, email });
      await ctx.services.db('resource_users').where({ resource_id: w.portal.resource.id, user_id: user.id }).update({ fail_count: 3, locked_until: ctx.services.db.raw(`now() + interval '5 minutes'`) });
      assert.equal((await lockMails(w, email)).length, 0);
      const agent = visitor(ctx.app);
      await enterLogin(agent, w.portal, user.login);
      for (let i = 0; i < 2; i++) assert.equal((await enterSecret(agent, w.portal, 'not the passphrase')).status, 401);
      assert.equal((await lockMails(w, email)).length, 1, 'two refusals while locked, one email');
    });

    it('a user locked at the second factor of a step-up is told so', async () => {
      const w = await world({ resource: { failedAttemptsLimit: 3, lockMinutes: 5 }, allowedActions: ['change_email'] });
      const user = await member(w, { password: PASSWORD, email: newEmail() });
      await addHotp(w, user.id);
      const agent = await passwordSignIn(w, user.login, `${w.portal.base}sign-in/second-factor`);
      assertRedirect(await enterSecondFactor(agent, w.portal, hotp(0)), w.portal.base);
      await ctx.services.db('resource_users').where({ resource_id: w.portal.resource.id, user_id: user.id }).update({ fail_count: 3, locked_until: ctx.services.db.raw(`now() + interval '5 minutes'`) });
      const res = await post(agent, w, 'step-up', { code: hotp(1), next: w.portal.base });
      assert.equal(res.status, 423);
      assert.match(res.text, LOCKED);
      assert.match(res.text, /You can try again in 5 minutes/);
    });
  });

  describe('§2 a code shared by the sign-ins of its user', () => {
    it('a new code after the minute keeps serving the earlier sign-in; the replaced code is dead', async () => {
      const w = await world();
      const email = newEmail('code');
      const user = await member(w, { email });
      const a = visitor(ctx.app);
      await enterLogin(a, w.portal, user.login);
      const first = (await lastEmailedCode(ctx.services, w.tenant.tenantId, email))!;
      await ctx.services.db('portal_sign_in_codes').where({ user_id: user.id }).update({ created_at: ctx.services.db.raw(`now() - interval '2 minutes'`) });
      const b = visitor(ctx.app);
      await enterLogin(b, w.portal, user.login);
      const second = (await lastEmailedCode(ctx.services, w.tenant.tenantId, email))!;
      assert.notEqual(second, first, 'after the minute a new code is sent');
      const old = await enterSecret(a, w.portal, first);
      assert.equal(old.status, 401, 'the replaced code is dead');
      assertRedirect(await enterSecret(a, w.portal, second), w.portal.base, 'the first browser signs in with the newest code');
    });

    it('a sign-in of another user, or at another portal, cannot use the code', async () => {
      const w = await world();
      const email = newEmail('code');
      const user = await member(w, { email });
      const other = await member(w, { email: newEmail('other') });
      const a = visitor(ctx.app);
      await enterLogin(a, w.portal, user.login);
      const code = (await lastEmailedCode(ctx.services, w.tenant.tenantId, email))!;
      const b = visitor(ctx.app);
      await enterLogin(b, w.portal, other.login);
      assert.equal((await enterSecret(b, w.portal, code)).status, 401);
      const elsewhere = await createPortal(ctx.services, w.tenant);
      await ctx.services.users.assign(w.tenant.actor, elsewhere.resource.id, user.id);
      const c = visitor(ctx.app);
      await enterLogin(c, elsewhere, user.login);
      assert.equal((await enterSecret(c, elsewhere, code)).status, 401);
      assertRedirect(await enterSecret(a, w.portal, code), w.portal.base);
    });
  });

  describe('§4 Assign Existing after Unassign', () => {
    it('a token the user removed here is offered again; one an administrator removed is not', async () => {
      const w = await world({ allowedActions: ['unassign_token', 'assign_token'], resource: { maxTokensPerUser: 5 } });
      const user = await member(w, { password: PASSWORD });
      await addHotp(w, user.id);
      const spare = await createApiToken(w, { userId: user.id, type: 'totp', name: 'Spare app' }, w.portal.resource.id);
      const adminRemoved = await createApiToken(w, { userId: user.id, type: 'totp', name: 'Admin removed' }, w.portal.resource.id);
      assert.equal((await w.api.delete(`/resources/${w.portal.resource.id}/tokens/${adminRemoved.id}`)).status, 204);
      const agent = await passwordSignIn(w, user.login, `${w.portal.base}sign-in/second-factor`);
      assertRedirect(await enterSecondFactor(agent, w.portal, hotp(0)), w.portal.base);
      assertRedirect(await post(agent, w, 'actions/unassign_token', { tokenId: spare.id }), w.portal.base);
      const page = await agent.get(`${w.portal.base}actions/assign_token`);
      assert.ok(page.text.includes('Spare app'), 'offered again');
      assert.ok(!page.text.includes('Admin removed'), 'an administrator\'s removal stays');
      assert.equal((await post(agent, w, 'actions/assign_token', { tokenId: adminRemoved.id })).status, 404);
      assertRedirect(await post(agent, w, 'actions/assign_token', { tokenId: spare.id }), w.portal.base);
      assert.equal((await ctx.services.db('token_releases').where({ token_id: spare.id })).length, 0, 'the release is spent');
    });
  });

  describe('§6 default names', () => {
    it('kind plus the end of the serial; a passkey after its browser', () => {
      assert.equal(defaultTokenName('totp', 'TOTP-7F3QK2AB'), 'Authenticator app K2AB');
      assert.equal(defaultTokenName('hotp', 'HOTP-ABCDEFGH'), 'Counter-based app EFGH');
      const ua = 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36';
      assert.equal(defaultWebauthnName('WEBAUTHN-ABCD1234', 'platform', ua), 'Passkey on Chrome on Android');
      assert.equal(defaultWebauthnName('WEBAUTHN-ABCD1234', 'cross-platform', ua), 'Security key 1234');
      assert.equal(defaultWebauthnName('WEBAUTHN-ABCD1234', 'platform', undefined), 'Passkey 1234');
    });
  });

  describe('§7 remove email or phone', () => {
    const both = ['change_email', 'change_phone'];

    it('a password-less user cannot remove the email they sign in with; the page says why', async () => {
      const w = await world({ allowedActions: both });
      const email = newEmail('code');
      const user = await member(w, { email });
      const agent = visitor(ctx.app);
      await enterLogin(agent, w.portal, user.login);
      assertRedirect(await enterSecret(agent, w.portal, (await lastEmailedCode(ctx.services, w.tenant.tenantId, email))!), w.portal.base);
      const page = await agent.get(`${w.portal.base}actions/change_email`);
      assert.ok(page.text.includes(SIGN_IN_ADDRESS_KEPT));
      assert.ok(!page.text.includes('Remove email address'), 'no button');
      const res = await post(agent, w, 'actions/change_email/remove');
      assert.equal(res.status, 409);
      assert.equal(alertOf(res.text), SIGN_IN_ADDRESS_KEPT);
      assert.equal((await ctx.services.db('users').where({ id: user.id }).first()).email, email);
    });

    it('an email token keeps the email; with none the phone is removed, audited, and the old number told', async () => {
      const w = await world({ allowedActions: both, resource: { maxTokensPerUser: 5 } });
      const phone = `+1415555${String(1000 + Math.floor(Math.random() * 9000))}`;
      const user = await member(w, { password: PASSWORD, email: newEmail(), phone });
      await addHotp(w, user.id);
      await createApiToken(w, { userId: user.id, type: 'email', name: 'Inbox codes' });
      const agent = await passwordSignIn(w, user.login, `${w.portal.base}sign-in/second-factor`);
      assertRedirect(await enterSecondFactor(agent, w.portal, hotp(0)), w.portal.base);
      const refused = await post(agent, w, 'actions/change_email/remove');
      assert.equal(refused.status, 409);
      assert.match(alertOf(refused.text) ?? '', /Your email token &quot;Inbox codes&quot; sends codes to this email address, so it cannot be removed\./);

      assertRedirect(await post(agent, w, 'actions/change_phone/remove'), w.portal.base);
      assert.equal((await ctx.services.db('users').where({ id: user.id }).first()).phone, null);
      const audit = await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'portal.profile.phone_removed', target_id: user.id });
      assert.equal(audit.length, 1);
      assert.equal(audit[0].details.from, phone);
      const sms = await ctx.services.db('messages').where({ tenant_id: w.tenant.tenantId, recipient: phone, channel: 'sms' });
      assert.equal(sms.length, 1, 'the removed number is told');
      const again = await post(agent, w, 'actions/change_phone/remove');
      assert.equal(again.status, 422, 'nothing left to remove');
    });

    it('removal needs the action enabled (403) and a fresh second factor (step-up)', async () => {
      const w = await world({ allowedActions: ['change_email'] });
      const user = await member(w, { password: PASSWORD, email: newEmail(), phone: '+14155550123' });
      await addHotp(w, user.id);
      const agent = await passwordSignIn(w, user.login, `${w.portal.base}sign-in/second-factor`);
      assertRedirect(await enterSecondFactor(agent, w.portal, hotp(0)), w.portal.base);
      assert.equal((await post(agent, w, 'actions/change_phone/remove')).status, 403);
      await ctx.services.db.raw(`UPDATE sessions SET data = jsonb_set(data, '{portal,secondFactorAt}', to_jsonb(1::bigint)) WHERE data->'portal'->>'userId' = ?`, [user.id]);
      const stale = await post(agent, w, 'actions/change_email/remove');
      assert.equal(stale.status, 403, 'a POST without a fresh second factor is refused, like every change');
      assert.ok(stale.text.includes('This change needs a second factor proven in the last 5 minutes.'));
      assert.ok((await ctx.services.db('users').where({ id: user.id }).first()).email, 'kept');
    });
  });
});
