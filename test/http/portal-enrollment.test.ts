/**
 * The portal's Enroll Token action through HTTP (SPEC §5.3) for totp, hotp, email, sms and
 * backup_codes: start → the key, the codes or a sent code → confirm with a code from the new
 * token → enabled (only then it counts at sign-in), audited, the user notified. Also: disabled
 * types refused (403) for GET and POST with nothing created, wrong codes (422, still disabled),
 * SEC-14 step-up, max tokens per user, abandoned enrolments, SEC-03 (no-store, shown once),
 * SEC-12 (the SMS warning), SEC-13 (backup codes single use). Clocks move by editing rows.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { unique } from '../helpers/factories';
import { postForm, type Agent } from '../helpers/admin-agent';
import {
  createApiToken,
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
  landingAfterPassword,
} from '../helpers/portal';
import { base32Decode, base32Encode, generateHotp, generateTotp } from '../../src/otp/otp-engine';
import { createEnrollmentService } from '../../src/portal-actions/enrollment.service';
import { createChallengeCodes } from '../../src/validation/challenge-codes';

const PASSWORD = 'a long portal passphrase';
const SID = 'mfa.portal.sid';
const TYPES = ['totp', 'hotp', 'email', 'sms', 'backup_codes'] as const;
type Type = (typeof TYPES)[number];
const TYPE_NOT_ENABLED = 'Your administrator has not enabled this token type in this portal.';
const ACTION_NOT_ENABLED = 'Your administrator has not enabled this action in this portal.';
const STEP_UP_TEXT = 'This change needs a second factor proven in the last 5 minutes.';
const NOTICE_SUBJECT = 'A new token was added';
const SMS_WARNING = /SMS is a restricted factor/;

/** RFC 4226 App. D seed: an imported HOTP token gives known codes, each usable once. */
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const hotp = (seed: Buffer, counter: number) => generateHotp(seed, counter, { algorithm: 'SHA1', digits: 6 });
const totp = (seed: Buffer, at = Date.now()) => generateTotp(seed, at, { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 });


/** The manual key shown on the start page (groups of 4 base32 characters), as the seed. */
function manualSeed(html: string): Buffer {
  const key = html.match(/id="manual-key">([^<]+)</)?.[1];
  assert.ok(key, 'the manual key is on the page');
  return base32Decode(key.replace(/\s/g, ''));
}

function backupCodesOf(html: string): string[] {
  const list = html.match(/<ol class="backup-codes" id="backup-codes">([\s\S]*?)<\/ol>/)?.[1] ?? '';
  return [...list.matchAll(/<code>([A-Z2-7-]+)<\/code>/g)].map((m) => m[1]);
}

describe('portal Enroll Token (SPEC §5.3)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  type World = PortalWorld;
  const world = (types: string[] = [...TYPES], options: { allowedActions?: string[]; resource?: Record<string, unknown> } = {}) =>
    createPortalWorld(ctx, { allowedActions: options.allowedActions ?? ['enroll_token'], enrollmentTokenTypes: types, resource: options.resource });

  const newEmail = (name = 'user') => `${unique(name)}@example.test`;
  const newPhone = () => `+1415555${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`;
  const member = (w: World, input: Record<string, unknown> = {}) => createPortalMember(ctx, w, { password: PASSWORD, email: newEmail(), phone: newPhone(), ...input });

  const db = () => ctx.services.db;
  const tokensOf = (userId: string) => db()('tokens').where({ user_id: userId }).orderBy('created_at');
  const assignedTo = (w: World, tokenId: string) => db()('token_resources').where({ token_id: tokenId, resource_id: w.portal.resource.id }).first();
  const pendingRows = (userId: string) => db()('portal_enrollments').where({ user_id: userId });
  const audits = (w: World, action: string) => db()('audit_events').where({ tenant_id: w.tenant.tenantId, action }).orderBy('id');
  const messagesTo = (w: World, recipient: string) => db()('messages').where({ tenant_id: w.tenant.tenantId, recipient }).orderBy('created_at');
  const notices = async (w: World, email: string) => (await messagesTo(w, email)).filter((m) => m.subject === NOTICE_SUBJECT);
  const setSecondFactorAt = (sid: string, value: number) =>
    db().raw(`UPDATE sessions SET data = jsonb_set(data, '{portal,secondFactorAt}', to_jsonb(?::bigint)) WHERE sid = ?`, [value, sid]);

  const url = (w: World, path = '') => `${w.portal.base}actions/enroll_token${path}`;
  /** POSTs a form with a CSRF token read from the dashboard. */
  const post = (agent: Agent, w: World, path: string, fields: Record<string, string> = {}) => postForm(agent, w.portal.base, url(w, path), fields);
  const start = (agent: Agent, w: World, type: string, fields: Record<string, string> = {}) => post(agent, w, `/${type}`, fields);
  const confirm = (agent: Agent, w: World, type: string, code: string) => post(agent, w, `/${type}/confirm`, { code });

  /** Password only (a user without tokens is signed in right after it, on Enroll Token when the portal offers it). */
  async function signedIn(w: World, login: string): Promise<Agent> {
    const agent = visitor(ctx.app);
    assertRedirect(await enterLogin(agent, w.portal, login), `${w.portal.base}sign-in/verify`, 'login step');
    const landing = await landingAfterPassword(ctx.services, w.portal, w.tenant.tenantId, login);
    assertRedirect(await enterSecret(agent, w.portal, PASSWORD), landing, 'password step');
    return agent;
  }

  /** Password, then `code` at the second factor; answers the agent and its session id. */
  async function signedInWith(w: World, login: string, code: () => Promise<string> | string): Promise<{ agent: Agent; sid: string }> {
    const agent = visitor(ctx.app);
    assertRedirect(await enterLogin(agent, w.portal, login), `${w.portal.base}sign-in/verify`, 'login step');
    assertRedirect(await enterSecret(agent, w.portal, PASSWORD), `${w.portal.base}sign-in/second-factor`, 'password step');
    const res = await enterSecondFactor(agent, w.portal, await code());
    assertRedirect(res, w.portal.base, 'second factor');
    return { agent, sid: sessionIdOf(setCookieValue(res, SID)!) };
  }

  /** An imported HOTP token with the RFC seed in the resource: codes hotp(SEED, 0), hotp(SEED, 1), ... */
  async function withHotp(w: World, userId: string): Promise<string> {
    return (await createApiToken(w, { userId, type: 'hotp', secret: base32Encode(SEED), counter: 0 }, w.portal.resource.id)).id;
  }

  /** After a successful confirm: enabled, assigned, no longer pending, audited, notified. */
  async function assertEnrolled(w: World, user: { id: string; email: string | null }, type: Type) {
    const [token] = (await tokensOf(user.id)).filter((t) => t.type === type);
    assert.ok(token, `a ${type} token`);
    assert.equal(token.enabled, true, 'enabled after the proof');
    assert.ok(await assignedTo(w, token.id), 'assigned to the resource');
    assert.equal((await pendingRows(user.id)).length, 0, 'no longer pending');
    const events = (await audits(w, 'portal.token.enroll')).filter((e) => e.result === 'success');
    assert.equal(events.length, 1, 'one portal.token.enroll event');
    assert.equal(events[0].target_id, token.id);
    assert.equal(events[0].actor_type, 'user');
    assert.equal(events[0].actor_id, user.id);
    assert.equal(events[0].resource_id, w.portal.resource.id);
    const sent = await notices(w, user.email!);
    assert.equal(sent.length, 1, 'the user is notified once');
    assert.ok(sent[0].body_text.includes(token.serial), 'the notice names the token');
    return token;
  }

  describe('totp and hotp', () => {
    it('TOTP: chooser → start (QR + manual key, no-store, owned by the session user) → wrong code 422 → right code enables it → it signs in', async () => {
      const w = await world(['totp', 'sms']);
      const user = await member(w);
      const other = await member(w);
      const agent = await signedIn(w, user.login);

      const dashboard = await agent.get(w.portal.base);
      assert.ok(dashboard.text.includes(`href="${url(w)}"`), 'offered on the dashboard');
      const chooser = await agent.get(url(w));
      assert.equal(chooser.status, 200);
      assert.ok(chooser.text.includes(`href="${url(w, '/totp')}"`), 'TOTP offered');
      assert.ok(chooser.text.includes('Authenticator app (TOTP)'));
      assert.ok(!chooser.text.includes(url(w, '/hotp')), 'a type not enabled is not offered');
      assert.match(chooser.text, SMS_WARNING, 'SEC-12 the SMS warning');

      const page = await agent.get(url(w, '/totp'));
      assert.equal(page.status, 200);
      // userId in the form is ignored: the owner comes from the session.
      const started = await start(agent, w, 'totp', { name: 'My phone', userId: other.id });
      assert.equal(started.status, 200, started.text.slice(0, 400));
      assert.equal(started.headers['cache-control'], 'no-store', 'SEC-03 never cached');
      assert.match(started.text, /<svg[^>]*>/, 'a server-side QR code');
      const seed = manualSeed(started.text);
      assert.equal(seed.length, 20, 'SEC-02 160-bit seed');

      assert.equal((await tokensOf(other.id)).length, 0, 'nothing for the user named in the input');
      const [pending] = await tokensOf(user.id);
      assert.equal(pending.type, 'totp');
      assert.equal(pending.name, 'My phone');
      assert.equal(pending.enabled, false, 'disabled until proven');
      assert.ok(await assignedTo(w, pending.id), 'assigned to the resource');
      assert.ok(!JSON.stringify(pending).includes(base32Encode(seed)), 'the seed is not stored in clear');

      const wrong = await confirm(agent, w, 'totp', codeOtherThan(totp(seed, Date.now() - 60_000), totp(seed), totp(seed, Date.now() + 30_000), totp(seed, Date.now() + 60_000)));
      assert.equal(wrong.status, 422);
      assert.match(fieldError(wrong.text, 'code') ?? '', /That code is not right/);
      assert.ok(!wrong.text.includes('id="manual-key"'), 'the key is not shown again');
      assert.equal((await tokensOf(user.id))[0].enabled, false, 'still disabled after a wrong code');

      const code = totp(seed);
      assertRedirect(await confirm(agent, w, 'totp', code), w.portal.base);
      const token = await assertEnrolled(w, user, 'totp');
      const after = await agent.get(w.portal.base);
      assert.ok(after.text.includes('My phone'));
      assert.match(after.text, /is ready: use it the next time you sign in/);
      assert.equal((await agent.get(url(w, '/totp/confirm'))).status, 409, 'nothing left to confirm, the key is gone');

      // The new token is now the second factor; the confirming code is spent (replay), a later one works.
      assertRedirect(await postForm(agent, w.portal.base, `${w.portal.base}sign-out`, {}), w.portal.base, 'sign out');
      const again = visitor(ctx.app);
      await enterLogin(again, w.portal, user.login);
      assertRedirect(await enterSecret(again, w.portal, PASSWORD), `${w.portal.base}sign-in/second-factor`, 'a second factor is now due');
      assert.equal((await enterSecondFactor(again, w.portal, code)).status, 401, 'SEC-05 the confirming code cannot be replayed');
      assertRedirect(await enterSecondFactor(again, w.portal, totp(seed, Date.now() + 30_000)), w.portal.base, 'a later code signs in');
      assert.ok((await db()('tokens').where({ id: token.id }).first()).totp_last_step > token.totp_last_step);
    });

    it('HOTP: the counter-based key confirms with its first code, which is then spent; the next one signs in', async () => {
      const w = await world(['hotp']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const started = await start(agent, w, 'hotp');
      assert.equal(started.status, 200);
      assert.equal(started.headers['cache-control'], 'no-store');
      assert.match(started.text, /counter-based/);
      const seed = manualSeed(started.text);
      assert.equal((await tokensOf(user.id))[0].enabled, false);

      const wrong = await confirm(agent, w, 'hotp', codeOtherThan(...Array.from({ length: 12 }, (_, n) => hotp(seed, n))));
      assert.equal(wrong.status, 422);
      assert.equal((await tokensOf(user.id))[0].enabled, false);

      assertRedirect(await confirm(agent, w, 'hotp', hotp(seed, 0)), w.portal.base);
      const token = await assertEnrolled(w, user, 'hotp');
      assert.equal(Number(token.hotp_counter), 1, 'the confirming counter is spent');

      const again = visitor(ctx.app);
      await enterLogin(again, w.portal, user.login);
      assertRedirect(await enterSecret(again, w.portal, PASSWORD), `${w.portal.base}sign-in/second-factor`);
      assert.equal((await enterSecondFactor(again, w.portal, hotp(seed, 0))).status, 401, 'replay refused');
      assertRedirect(await enterSecondFactor(again, w.portal, hotp(seed, 1)), w.portal.base);
    });

    it('a pending token does not work at sign-in, and 5 wrong codes cancel the enrolment', async () => {
      const w = await world(['totp']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const seed = manualSeed((await start(agent, w, 'totp')).text);
      // Not proven: the user still signs in with the password alone (the token is inactive).
      await signedIn(w, user.login);
      const wrong = codeOtherThan(...[-60_000, 0, 30_000, 60_000].map((d) => totp(seed, Date.now() + d)));
      for (let n = 1; n < 5; n++) assert.equal((await confirm(agent, w, 'totp', wrong)).status, 422, `wrong code ${n}`);
      const last = await confirm(agent, w, 'totp', wrong);
      assert.equal(last.status, 422);
      assert.match(last.text, /Too many wrong codes: this enrolment was cancelled/);
      assert.equal((await tokensOf(user.id)).length, 0, 'the pending token is gone');
      assert.equal((await confirm(agent, w, 'totp', totp(seed))).status, 409, 'nothing left to confirm');
      assert.equal((await audits(w, 'portal.token.enroll')).filter((e) => e.result === 'failure').length, 5);
    });
  });

  describe('email and sms', () => {
    it('email: a code goes to the profile address; a wrong code is 422; the right one enables the token, which then signs in', async () => {
      const w = await world(['email']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const started = await start(agent, w, 'email');
      assert.equal(started.status, 200, started.text.slice(0, 400));
      assert.ok(started.text.includes(`We sent a 6-digit code to ${user.email}`));
      const code = await lastEmailedCode(ctx.services, w.tenant.tenantId, user.email!);
      assert.ok(code, 'a code in the Outbox');
      const [pending] = await tokensOf(user.id);
      assert.equal(pending.enabled, false);

      const wrong = await confirm(agent, w, 'email', codeOtherThan(code));
      assert.equal(wrong.status, 422);
      assert.match(fieldError(wrong.text, 'code') ?? '', /That code is not right/);
      assert.equal((await tokensOf(user.id))[0].enabled, false);

      assertRedirect(await confirm(agent, w, 'email', code), w.portal.base);
      await assertEnrolled(w, user, 'email');

      // At sign-in the new email token is the second factor (a minute later: codes per token are throttled to one per 30 s).
      await db()('token_challenges').where({ token_id: pending.id }).update({ created_at: db().raw(`now() - interval '1 minute'`) });
      const again = visitor(ctx.app);
      await enterLogin(again, w.portal, user.login);
      assertRedirect(await enterSecret(again, w.portal, PASSWORD), `${w.portal.base}sign-in/second-factor`);
      await postForm(again, `${w.portal.base}sign-in/second-factor`, `${w.portal.base}sign-in/second-factor/send`, {});
      const signInCode = await lastEmailedCode(ctx.services, w.tenant.tenantId, user.email!);
      assert.ok(signInCode && signInCode !== code, 'a fresh sign-in code');
      assertRedirect(await enterSecondFactor(again, w.portal, signInCode), w.portal.base);
    });

    it('SEC-12 sms: the pages say SMS is restricted and offer the app; the SMS code enables the token; resend is throttled', async () => {
      const w = await world(['totp', 'sms']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const page = await agent.get(url(w, '/sms'));
      assert.equal(page.status, 200);
      assert.match(page.text, SMS_WARNING);
      assert.ok(page.text.includes(`href="${url(w, '/totp')}"`), 'an app token offered instead');

      const started = await start(agent, w, 'sms');
      assert.equal(started.status, 200, started.text.slice(0, 400));
      const [sms] = await messagesTo(w, user.phone!);
      assert.equal(sms.channel, 'sms');
      const code = sms.body_text.match(/\b(\d{6})\b/)[1];
      assert.equal((await post(agent, w, '/sms/resend')).status, 429, 'a second code within 30 s is refused');
      assert.equal((await messagesTo(w, user.phone!)).length, 1);

      assert.equal((await confirm(agent, w, 'sms', codeOtherThan(code))).status, 422);
      assert.equal((await tokensOf(user.id))[0].enabled, false);
      assertRedirect(await confirm(agent, w, 'sms', code), w.portal.base);
      await assertEnrolled(w, user, 'sms');
    });

    it('a type the profile cannot receive is explained and refused: no email, no phone', async () => {
      const w = await world(['email', 'sms', 'totp']);
      const user = await member(w, { email: null, phone: null });
      const agent = await signedIn(w, user.login);
      const chooser = await agent.get(url(w));
      assert.match(chooser.text, /Your profile has no email address/);
      assert.match(chooser.text, /Your profile has no phone number/);
      assert.ok(!chooser.text.includes(`href="${url(w, '/email')}"`));
      for (const type of ['email', 'sms']) {
        assert.equal((await agent.get(url(w, `/${type}`))).status, 422, `GET ${type}`);
        assert.equal((await start(agent, w, type)).status, 422, `POST ${type}`);
      }
      assert.equal((await tokensOf(user.id)).length, 0);
    });
  });

  describe('SEC-13 backup codes', () => {
    it('10 codes shown once; download works while pending only; one code confirms and is spent; another signs in', async () => {
      const w = await world(['backup_codes']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const started = await start(agent, w, 'backup_codes');
      assert.equal(started.status, 200, started.text.slice(0, 400));
      assert.equal(started.headers['cache-control'], 'no-store');
      const codes = backupCodesOf(started.text);
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      for (const code of codes) assert.match(code, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/, '80 bits each');
      assert.ok(started.text.includes('data-print'), 'a print button');
      const [pending] = await tokensOf(user.id);
      const stored = await db()('token_backup_codes').where({ token_id: pending.id });
      assert.equal(stored.length, 10);
      assert.ok(stored.every((row) => !codes.some((c) => row.code_hash.includes(c.replace(/-/g, '')))), 'stored hashed');

      const download = await agent.get(url(w, '/backup_codes/download'));
      assert.equal(download.status, 200);
      assert.match(download.headers['content-type'], /^text\/plain/);
      assert.match(download.headers['content-disposition'], /^attachment; filename="?backup-codes\.txt"?$/);
      assert.equal(download.headers['cache-control'], 'no-store');
      for (const code of codes) assert.ok(download.text.includes(code));
      const confirmPage = await agent.get(url(w, '/backup_codes/confirm'));
      assert.equal(confirmPage.status, 200);
      assert.equal(backupCodesOf(confirmPage.text).length, 0, 'the codes are not shown again');
      assert.ok(confirmPage.text.includes('Download as text'));

      assert.equal((await confirm(agent, w, 'backup_codes', 'AAAA-BBBB-CCCC-DDDD')).status, 422);
      assert.equal((await tokensOf(user.id))[0].enabled, false);
      assertRedirect(await confirm(agent, w, 'backup_codes', codes[3].toLowerCase()), w.portal.base);
      await assertEnrolled(w, user, 'backup_codes');
      assert.equal((await db()('token_backup_codes').where({ token_id: pending.id }).whereNotNull('used_at')).length, 1, 'the confirming code is spent');
      assert.equal((await agent.get(url(w, '/backup_codes/download'))).status, 404, 'no download once enrolled');

      const again = visitor(ctx.app);
      await enterLogin(again, w.portal, user.login);
      assertRedirect(await enterSecret(again, w.portal, PASSWORD), `${w.portal.base}sign-in/second-factor`);
      assert.equal((await enterSecondFactor(again, w.portal, codes[3])).status, 401, 'single use');
      assertRedirect(await enterSecondFactor(again, w.portal, codes[7]), w.portal.base);
    });

    it('the download is refused to another session and once the enrolment is abandoned', async () => {
      const w = await world(['backup_codes', 'totp']);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      assert.equal((await start(agent, w, 'backup_codes')).status, 200);
      const otherSession = await signedIn(w, user.login);
      assert.equal((await otherSession.get(url(w, '/backup_codes/download'))).status, 404, 'another session');
      // A new start (of any type) replaces the pending enrolment: the codes are gone.
      assert.equal((await start(otherSession, w, 'totp')).status, 200);
      assert.equal((await agent.get(url(w, '/backup_codes/download'))).status, 404, 'abandoned');
      assert.deepEqual((await tokensOf(user.id)).map((t) => t.type), ['totp']);
    });
  });

  describe('rules', () => {
    for (const type of TYPES) {
      it(`${type} not enabled: GET and POST (start, confirm) are 403 and nothing is created`, async () => {
        const w = await world(TYPES.filter((t) => t !== type));
        const user = await member(w);
        const agent = await signedIn(w, user.login);
        const chooser = await agent.get(url(w));
        assert.ok(!chooser.text.includes(`href="${url(w, `/${type}`)}"`), 'not offered');
        for (const res of [await agent.get(url(w, `/${type}`)), await start(agent, w, type), await confirm(agent, w, type, '123456')]) {
          assert.equal(res.status, 403);
          assert.ok(res.text.includes(TYPE_NOT_ENABLED));
        }
        assert.equal((await tokensOf(user.id)).length, 0);
        assert.equal((await db()('messages').where({ tenant_id: w.tenant.tenantId })).length, 0, 'no code sent');
      });
    }

    it('enroll_token not enabled: 403 for the chooser and every type, even with all types enabled', async () => {
      const w = await world([...TYPES], { allowedActions: ['change_name'] });
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      assert.equal((await agent.get(url(w))).status, 403);
      for (const type of TYPES) {
        for (const res of [await agent.get(url(w, `/${type}`)), await start(agent, w, type)]) {
          assert.equal(res.status, 403, type);
          assert.ok(res.text.includes(ACTION_NOT_ENABLED));
        }
      }
      assert.equal((await tokensOf(user.id)).length, 0);
    });

    it('the service refuses a type not enabled even when called directly (defense in depth)', async () => {
      const w = await world(['totp']);
      const user = await member(w);
      const { config } = ctx.services;
      const service = createEnrollmentService({ ...ctx.services, codes: createChallengeCodes(config.encryption.keys, config.encryption.activeKeyId) });
      const portal = { id: w.portal.resource.id, tenantId: w.tenant.tenantId, name: w.portal.resource.name, allowedActions: ['enroll_token'], enrollmentTokenTypes: ['totp'], requireSecondFactor: false };
      for (const type of ['hotp', 'email', 'sms', 'backup_codes'] as const) {
        await assert.rejects(service.start({ portal, userId: user.id, visitor: {} }, type), (err: Error & { status?: number }) => err.status === 403, type);
      }
      assert.equal((await tokensOf(user.id)).length, 0);
    });

    it('SEC-14 a user with a token and a second factor older than 5 minutes must step up, for every type; after step-up it works', async () => {
      const w = await world([...TYPES], { resource: { maxTokensPerUser: 5 } });
      const user = await member(w);
      await withHotp(w, user.id);
      const { agent, sid } = await signedInWith(w, user.login, () => hotp(SEED, 0));
      await setSecondFactorAt(sid, Date.now() - 6 * 60_000);

      assertRedirect(await agent.get(url(w)), `${w.portal.base}step-up?next=${encodeURIComponent(url(w))}`, 'chooser GET goes to step-up');
      for (const type of TYPES) {
        assertRedirect(await agent.get(url(w, `/${type}`)), `${w.portal.base}step-up?next=${encodeURIComponent(url(w, `/${type}`))}`, `GET ${type}`);
        const res = await start(agent, w, type);
        assert.equal(res.status, 403, `POST ${type}`);
        assert.ok(res.text.includes(STEP_UP_TEXT), type);
      }
      assert.equal((await tokensOf(user.id)).length, 1, 'only the HOTP token');
      assert.equal((await messagesTo(w, user.email!)).length, 0, 'no code sent');

      const stepUp = await postForm(agent, `${w.portal.base}step-up`, `${w.portal.base}step-up`, { code: hotp(SEED, 1), next: url(w, '/totp') });
      assertRedirect(stepUp, url(w, '/totp'), 'back to the enrolment');
      // The step-up rotated the session id (SEC-17): follow the new one.
      const rotatedSid = sessionIdOf(setCookieValue(stepUp, 'mfa.portal.sid')!);
      assert.notEqual(rotatedSid, sid);
      const started = await start(agent, w, 'totp');
      assert.equal(started.status, 200);
      const seed = manualSeed(started.text);

      // The factor goes stale before the confirmation: refused, the token stays disabled.
      await setSecondFactorAt(rotatedSid, Date.now() - 6 * 60_000);
      const late = await confirm(agent, w, 'totp', totp(seed));
      assert.equal(late.status, 403);
      assert.ok(late.text.includes(STEP_UP_TEXT));
      assert.equal((await tokensOf(user.id)).find((t) => t.type === 'totp').enabled, false);
      await setSecondFactorAt(rotatedSid, Date.now());
      assertRedirect(await confirm(agent, w, 'totp', totp(seed)), w.portal.base);
      assert.equal((await tokensOf(user.id)).find((t) => t.type === 'totp').enabled, true);
    });

    it('a portal that requires a second factor lets a user without one enroll right after the password', async () => {
      const w = await world(['totp'], { resource: { requireSecondFactor: true }, allowedActions: ['enroll_token', 'change_name'] });
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const dashboard = await agent.get(w.portal.base);
      assert.ok(dashboard.text.includes(`<a href="${url(w)}">Enroll one now</a>`), 'the dashboard leads to enrolment');
      assert.equal((await agent.get(`${w.portal.base}actions/change_name`)).status, 403, 'nothing else before a factor');
      const chooser = await agent.get(url(w));
      assert.equal(chooser.status, 200);
      assert.match(chooser.text, /This portal requires a second factor/);
      const seed = manualSeed((await start(agent, w, 'totp')).text);
      assertRedirect(await confirm(agent, w, 'totp', totp(seed)), w.portal.base);
      await assertEnrolled(w, user, 'totp');
    });

    it('max tokens per user: at the limit the chooser says so and every start is 409 with nothing created; an admin-disabled token still counts', async () => {
      const w = await world([...TYPES], { resource: { maxTokensPerUser: 1 } });
      const user = await member(w);
      const hotpId = await withHotp(w, user.id);
      const { agent } = await signedInWith(w, user.login, () => hotp(SEED, 0));
      const chooser = await agent.get(url(w));
      assert.equal(chooser.status, 200);
      assert.match(chooser.text, /You already have the maximum of 1 token in this portal/);
      assert.ok(!chooser.text.includes(`href="${url(w, '/totp')}"`));
      for (const type of TYPES) {
        assert.equal((await agent.get(url(w, `/${type}`))).status, 409, `GET ${type}`);
        const res = await start(agent, w, type);
        assert.equal(res.status, 409, `POST ${type}`);
        assert.match(res.text, /maximum of 1 token/);
      }
      assert.equal((await tokensOf(user.id)).length, 1);

      // An admin-disabled token is no pending enrolment: it is kept and still counts.
      await ctx.services.tokens.setEnabled(w.tenant.actor, hotpId, false);
      assert.equal((await start(agent, w, 'totp')).status, 409);
      assert.deepEqual((await tokensOf(user.id)).map((t) => [t.id, t.enabled]), [[hotpId, false]]);
    });

    it('an abandoned enrolment does not hold a place: a new start replaces it, and after 30 minutes it can no longer be confirmed', async () => {
      const w = await world(['totp', 'email'], { resource: { maxTokensPerUser: 1 } });
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const first = manualSeed((await start(agent, w, 'totp')).text);
      const chooser = await agent.get(url(w));
      assert.match(chooser.text, /You have 0 of at most 1 token here/, 'the pending one is not counted');
      assert.equal((await start(agent, w, 'email')).status, 200, 'a new start replaces the pending one');
      assert.deepEqual((await tokensOf(user.id)).map((t) => t.type), ['email']);
      assert.equal((await confirm(agent, w, 'totp', totp(first))).status, 409, 'the replaced enrolment is gone');

      const second = manualSeed((await start(agent, w, 'totp')).text);
      await db()('portal_enrollments').where({ user_id: user.id }).update({ created_at: db().raw(`now() - interval '31 minutes'`) });
      const late = await confirm(agent, w, 'totp', totp(second));
      assert.equal(late.status, 409);
      assert.match(late.text, /expired/);
      assert.equal((await tokensOf(user.id))[0].enabled, false);
      // Another user's start in the resource sweeps it away.
      const other = await member(w);
      assert.equal((await start(await signedIn(w, other.login), w, 'totp')).status, 200);
      assert.equal((await tokensOf(user.id)).length, 0, 'expired pending token deleted');
    });
  });
});
