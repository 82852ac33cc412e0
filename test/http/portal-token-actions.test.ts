/**
 * The portal's token actions through HTTP (SPEC §5.3): Unassign Token, Token Synchronization,
 * Configure PIN, Assign Existing Token (own token, hardware claimed from stock) and Reissue Token.
 * For each: enabled → works (database, audit, notice); disabled → 403 for GET and POST and nothing
 * changes; another user's token or a token outside this resource → 404; sensitive actions need a
 * second factor from the last 5 minutes (SEC-14, the session clock is moved by editing its row).
 * HOTP tokens with the RFC 4226 seed give predictable codes; each code is accepted once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, unique } from '../helpers/factories';
import { postForm, type Agent } from '../helpers/admin-agent';
import {
  createApiToken,
  createPortalMember,
  createPortalWorld,
  type PortalWorld,
  enterLogin,
  enterSecondFactor,
  enterSecret,
  sessionIdOf,
  setCookieValue,
  visitor,
  alertOf,
  codeOtherThan,
} from '../helpers/portal';
import { base32Decode, base32Encode, generateHotp } from '../../src/otp/otp-engine';
import { CLAIM_FAILED, REISSUE_EXPIRED, SYNC_FAILED, UNASSIGN_LAST_REFUSED } from '../../src/portal-actions/token-actions.service';

const PASSWORD = 'a long portal passphrase';
const SID = 'mfa.portal.sid';
const TOO_MANY = 'Too many attempts. Wait a few minutes, then try again.';
const NOT_ENABLED = 'Your administrator has not enabled this action in this portal.';
const TOKEN_ACTIONS = ['reissue_token', 'assign_token', 'unassign_token', 'sync_token', 'configure_pin'];

/** RFC 4226 App. D seed, and a second seed for a user's other token. */
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const OTHER_SEED = Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex');
const codeOf = (seed: Buffer, counter: number) => generateHotp(seed, counter, { algorithm: 'SHA1', digits: 6 });
const hotp = (counter: number) => codeOf(SEED, counter);

/** A 6-digit code that none of the first 1100 counters of `seed` gives (wrong whatever the look-ahead or sync window). */
const wrongCode = (seed: Buffer = SEED) => codeOtherThan(...Array.from({ length: 1100 }, (_, n) => codeOf(seed, n)));

describe('portal token actions (SPEC §5.3)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  type World = PortalWorld;
  const world = (options: { actions?: string[]; resource?: Record<string, unknown> } = {}) =>
    createPortalWorld(ctx, { allowedActions: options.actions ?? TOKEN_ACTIONS, resource: options.resource });
  const member = (w: World, resourceId = w.portal.resource.id) =>
    createPortalMember(ctx, w, { password: PASSWORD, email: `${unique('user')}@example.test` }, resourceId);
  /** A token made through the API, assigned to `resourceId` when given. */
  const token = createApiToken;

  /** An HOTP token of `userId` at counter 0, assigned to the portal's resource unless another (or null) is given. */
  const hotpToken = (w: World, userId: string, seed = SEED, resourceId: string | null = w.portal.resource.id) =>
    token(w, { type: 'hotp', userId, secret: base32Encode(seed), counter: 0 }, resourceId ?? undefined);

  /** Signs in with the password and, when `code` is given, the second factor. */
  async function signIn(w: World, login: string, code?: string): Promise<{ agent: Agent; sid: string }> {
    const agent = visitor(ctx.app);
    assert.equal((await enterLogin(agent, w.portal, login)).status, 303);
    let res = await enterSecret(agent, w.portal, PASSWORD);
    assert.equal(res.status, 303, 'password step');
    if (code !== undefined) {
      assert.equal(res.headers.location, `${w.portal.base}sign-in/second-factor`);
      res = await enterSecondFactor(agent, w.portal, code);
    }
    assert.equal(res.status, 303, `sign-in: ${res.status} ${res.text.slice(0, 200)}`);
    assert.equal(res.headers.location, w.portal.base, 'signed in');
    return { agent, sid: sessionIdOf(setCookieValue(res, SID)!) };
  }

  /**
   * Whether `code` passes the resource's second-factor check now (the validation API: the rules
   * the portal's second step uses, without spending the portal's per-login sign-in rate limit).
   */
  async function codeAccepted(w: World, login: string, code: string): Promise<boolean> {
    const res = await w.api.post(`/resources/${w.portal.resource.id}/authenticate`, { login, otp: code });
    assert.equal(res.status, 200, res.text);
    return res.body.result === true;
  }

  /** Whether a fresh portal sign-in with `code` as second factor succeeds (3 hits of the per-login limit of 12). */
  async function secondFactorWorks(w: World, login: string, code: string): Promise<boolean> {
    const agent = visitor(ctx.app);
    await enterLogin(agent, w.portal, login);
    await enterSecret(agent, w.portal, PASSWORD);
    const res = await enterSecondFactor(agent, w.portal, code);
    return res.status === 303 && res.headers.location === w.portal.base;
  }

  const actionUrl = (w: World, path: string) => `${w.portal.base}actions/${path}`;
  /** POSTs to an action with the CSRF token of the dashboard. */
  const act = (agent: Agent, w: World, path: string, fields: Record<string, string>) => postForm(agent, w.portal.base, actionUrl(w, path), fields);

  const tokenRow = (id: string) => ctx.services.db('tokens').where({ id }).first();
  const assignment = (tokenId: string, resourceId: string) => ctx.services.db('token_resources').where({ token_id: tokenId, resource_id: resourceId }).first();
  const audits = (w: World, action: string) => ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action }).orderBy('id');
  const notices = (w: World, recipient: string) => ctx.services.db('messages').where({ tenant_id: w.tenant.tenantId, recipient }).orderBy('created_at');
  /** Moves the session's last second factor `minutes` into the past. */
  const ageSecondFactor = (sid: string, minutes: number) =>
    ctx.services.db.raw(`UPDATE sessions SET data = jsonb_set(data, '{portal,secondFactorAt}', to_jsonb(?::bigint)) WHERE sid = ?`, [Date.now() - minutes * 60_000, sid]);

  function assertDone(res: request.Response, w: World, what: string): void {
    assert.equal(res.status, 303, `${what}: ${res.status} ${alertOf(res.text) ?? res.text.slice(0, 300)}`);
    assert.equal(res.headers.location, w.portal.base, what);
  }

  function assertStepUpPage(res: request.Response, w: World, path: string): void {
    assert.equal(res.status, 303, `${path}: ${res.status}`);
    assert.equal(res.headers.location, `${w.portal.base}step-up?next=${encodeURIComponent(actionUrl(w, path))}`);
  }

  function assertStepUpRefused(res: request.Response): void {
    assert.equal(res.status, 403, res.text.slice(0, 300));
    assert.match(res.text, /This change needs a second factor proven in the last 5 minutes\./);
  }

  /** Disabled action: its page and its POSTs answer 403. */
  async function assertDisabled(agent: Agent, w: World, page: string, posts: Array<[string, Record<string, string>]>): Promise<void> {
    const get = await agent.get(actionUrl(w, page));
    assert.equal(get.status, 403, `GET ${page}`);
    assert.ok(get.text.includes(NOT_ENABLED));
    for (const [path, fields] of posts) {
      const res = await act(agent, w, path, fields);
      assert.equal(res.status, 403, `POST ${path}`);
      assert.ok(res.text.includes(NOT_ENABLED));
    }
  }

  describe('Unassign Token', () => {
    it('SEC-14 removes one of two tokens from this resource: audited, notified, the other token still signs in', async () => {
      const w = await world({ resource: { requireSecondFactor: true, maxTokensPerUser: 2 } });
      const user = await member(w);
      const keep = await hotpToken(w, user.id);
      const remove = await hotpToken(w, user.id, OTHER_SEED);
      const { agent } = await signIn(w, user.login, hotp(0));

      const page = await agent.get(actionUrl(w, 'unassign_token'));
      assert.equal(page.status, 200);
      assert.ok(page.text.includes(`value="${remove.id}"`) && page.text.includes(`value="${keep.id}"`), 'both tokens offered');

      assertDone(await act(agent, w, 'unassign_token', { tokenId: remove.id }), w, 'unassign');
      assert.equal(await assignment(remove.id, w.portal.resource.id), undefined, 'assignment gone');
      assert.ok(await tokenRow(remove.id), 'the token itself stays');
      const [event] = await audits(w, 'resource.token.unassign');
      assert.equal(event.actor_type, 'user');
      assert.equal(event.actor_id, user.id);
      assert.equal(event.target_id, remove.id);
      assert.equal(event.resource_id, w.portal.resource.id);
      const [notice] = await notices(w, user.email!);
      assert.equal(notice.subject, 'A token was removed');
      assert.ok(notice.body_text.includes(remove.serial));
      assert.ok(await secondFactorWorks(w, user.login, hotp(1)), 'the kept token signs in');
      assert.equal(await codeAccepted(w, user.login, codeOf(OTHER_SEED, 0)), false, 'the removed token no longer does');
    });

    it('refuses the last enabled token where a second factor is required, with a clear message; allows it otherwise', async () => {
      const w = await world({ resource: { requireSecondFactor: true } });
      const user = await member(w);
      const only = await hotpToken(w, user.id);
      const { agent } = await signIn(w, user.login, hotp(0));
      const res = await act(agent, w, 'unassign_token', { tokenId: only.id });
      assert.equal(res.status, 409);
      assert.equal(alertOf(res.text), UNASSIGN_LAST_REFUSED);
      assert.ok(await assignment(only.id, w.portal.resource.id), 'still assigned');
      assert.equal((await notices(w, user.email!)).length, 0);

      const free = await world();
      const other = await member(free);
      const last = await hotpToken(free, other.id);
      const signedIn = await signIn(free, other.login, hotp(0));
      assertDone(await act(signedIn.agent, free, 'unassign_token', { tokenId: last.id }), free, 'last token without the requirement');
      assert.equal(await assignment(last.id, free.portal.resource.id), undefined);
    });

    it('another user\'s token, a token outside this resource and a malformed id are 404', async () => {
      const w = await world({ resource: { maxTokensPerUser: 2 } });
      const user = await member(w);
      await hotpToken(w, user.id);
      const otherUser = await member(w);
      const theirs = await hotpToken(w, otherUser.id, OTHER_SEED);
      const elsewhere = await createResource(ctx.services, w.tenant);
      await ctx.services.users.assign(w.tenant.actor, elsewhere.id, user.id);
      const mineElsewhere = await hotpToken(w, user.id, OTHER_SEED, elsewhere.id);
      const { agent } = await signIn(w, user.login, hotp(0));
      for (const tokenId of [theirs.id, mineElsewhere.id, 'not-a-uuid']) {
        const res = await act(agent, w, 'unassign_token', { tokenId });
        assert.equal(res.status, 404, tokenId);
      }
      assert.ok(await assignment(theirs.id, w.portal.resource.id));
      assert.ok(await assignment(mineElsewhere.id, elsewhere.id));
    });

    it('SEC-14 needs a second factor from the last 5 minutes', async () => {
      const w = await world({ resource: { maxTokensPerUser: 2 } });
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const { agent, sid } = await signIn(w, user.login, hotp(0));
      await ageSecondFactor(sid, 6);
      assertStepUpPage(await agent.get(actionUrl(w, 'unassign_token')), w, 'unassign_token');
      assertStepUpRefused(await act(agent, w, 'unassign_token', { tokenId: t.id }));
      assert.ok(await assignment(t.id, w.portal.resource.id), 'unchanged');
    });

    it('disabled: GET and POST are 403 and nothing changes', async () => {
      const w = await world({ actions: TOKEN_ACTIONS.filter((a) => a !== 'unassign_token') });
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const { agent } = await signIn(w, user.login, hotp(0));
      await assertDisabled(agent, w, 'unassign_token', [['unassign_token', { tokenId: t.id }]]);
      assert.ok(await assignment(t.id, w.portal.resource.id));
    });
  });

  describe('Token Synchronization', () => {
    it('SEC-06 two consecutive codes far ahead re-align the HOTP counter; the next code then signs in', async () => {
      const w = await world();
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const { agent } = await signIn(w, user.login, hotp(0));
      assert.equal(await codeAccepted(w, user.login, hotp(202)), false, 'beyond the look-ahead before the sync');

      const page = await agent.get(actionUrl(w, 'sync_token'));
      assert.equal(page.status, 200);
      assert.ok(page.text.includes(`value="${t.id}"`));
      assertDone(await act(agent, w, 'sync_token', { tokenId: t.id, code1: hotp(200), code2: hotp(201) }), w, 'sync');
      assert.equal((await tokenRow(t.id)).hotp_counter, 202);
      const [event] = await audits(w, 'token.resync');
      assert.equal(event.result, 'success');
      assert.equal(event.actor_type, 'user');
      assert.equal(event.actor_id, user.id);
      assert.ok(await secondFactorWorks(w, user.login, hotp(202)), 'the next code signs in');
      assert.equal(await codeAccepted(w, user.login, hotp(201)), false, 'a synchronised code is spent');
    });

    it('a wrong pair is a 422 with a message and changes nothing; malformed codes too', async () => {
      const w = await world();
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const { agent } = await signIn(w, user.login, hotp(0));
      const wrong = await act(agent, w, 'sync_token', { tokenId: t.id, code1: hotp(200), code2: hotp(202) });
      assert.equal(wrong.status, 422);
      assert.ok(wrong.text.includes(SYNC_FAILED));
      const malformed = await act(agent, w, 'sync_token', { tokenId: t.id, code1: 'abc', code2: '' });
      assert.equal(malformed.status, 422);
      assert.match(malformed.text, /Enter two consecutive codes/);
      assert.equal((await tokenRow(t.id)).hotp_counter, 1);
    });

    it('SEC-06 is throttled per token: the 11th attempt answers 429 with the limit message', async () => {
      const w = await world();
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const { agent } = await signIn(w, user.login, hotp(0));
      const wrong = wrongCode();
      for (let i = 0; i < 10; i++) assert.equal((await act(agent, w, 'sync_token', { tokenId: t.id, code1: wrong, code2: wrong })).status, 422, `attempt ${i + 1}`);
      const limited = await act(agent, w, 'sync_token', { tokenId: t.id, code1: hotp(200), code2: hotp(201) });
      assert.equal(limited.status, 429);
      assert.equal(alertOf(limited.text), TOO_MANY);
      assert.equal((await tokenRow(t.id)).hotp_counter, 1, 'even right codes change nothing while throttled');
    });

    it('only OATH tokens; another user\'s token is 404; disabled action is 403', async () => {
      const w = await world({ resource: { maxTokensPerUser: 2 } });
      const user = await member(w);
      await hotpToken(w, user.id);
      const email = await token(w, { type: 'email', userId: user.id }, w.portal.resource.id);
      const other = await member(w);
      const theirs = await hotpToken(w, other.id, OTHER_SEED);
      const { agent } = await signIn(w, user.login, hotp(0));
      assert.equal((await act(agent, w, 'sync_token', { tokenId: email.id, code1: '123456', code2: '234567' })).status, 422);
      assert.equal((await act(agent, w, 'sync_token', { tokenId: theirs.id, code1: codeOf(OTHER_SEED, 200), code2: codeOf(OTHER_SEED, 201) })).status, 404);
      assert.equal((await tokenRow(theirs.id)).hotp_counter, 0);

      const off = await world({ actions: [] });
      const u2 = await member(off);
      const t2 = await hotpToken(off, u2.id);
      const s2 = await signIn(off, u2.login, hotp(0));
      await assertDisabled(s2.agent, off, 'sync_token', [['sync_token', { tokenId: t2.id, code1: hotp(200), code2: hotp(201) }]]);
      assert.equal((await tokenRow(t2.id)).hotp_counter, 1);
    });
  });

  describe('Configure PIN', () => {
    it('sets a PIN (never echoed); sign-in then needs PIN + code (PIN before by default); audited and notified', async () => {
      const w = await world();
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const { agent } = await signIn(w, user.login, hotp(0));
      const page = await agent.get(actionUrl(w, 'configure_pin'));
      assert.equal(page.status, 200);
      assert.match(page.text, /right before/);

      const res = await act(agent, w, 'configure_pin', { tokenId: t.id, pin: '482915', pinConfirm: '482915' });
      assertDone(res, w, 'set PIN');
      const row = await tokenRow(t.id);
      assert.ok(row.pin_hash?.startsWith('$argon2id$'), 'stored hashed');
      const [event] = await audits(w, 'token.pin.set');
      assert.equal(event.actor_id, user.id);
      assert.doesNotMatch(JSON.stringify(event), /482915/);
      const [notice] = await notices(w, user.email!);
      assert.equal(notice.subject, 'Your PIN was changed');
      assert.doesNotMatch(notice.body_text, /482915/);
      assert.doesNotMatch((await agent.get(w.portal.base)).text, /482915/);

      assert.equal(await secondFactorWorks(w, user.login, hotp(1)), false, 'the code alone is refused');
      assert.ok(await secondFactorWorks(w, user.login, `482915${hotp(2)}`), 'PIN + code signs in');
    });

    it('a bad or unconfirmed PIN is a 422 and changes nothing; removing the PIN works and notifies', async () => {
      const w = await world();
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const { agent } = await signIn(w, user.login, hotp(0));
      const short = await act(agent, w, 'configure_pin', { tokenId: t.id, pin: '12', pinConfirm: '12' });
      assert.equal(short.status, 422);
      assert.match(short.text, /Use 4 to 12 digits\./);
      const mismatch = await act(agent, w, 'configure_pin', { tokenId: t.id, pin: '4821', pinConfirm: '4822' });
      assert.equal(mismatch.status, 422);
      assert.match(mismatch.text, /The two PINs do not match\./);
      assert.equal((await tokenRow(t.id)).pin_hash, null);

      assertDone(await act(agent, w, 'configure_pin', { tokenId: t.id, pin: '4821', pinConfirm: '4821' }), w, 'set');
      assertDone(await act(agent, w, 'configure_pin/remove', { tokenId: t.id }), w, 'remove');
      assert.equal((await tokenRow(t.id)).pin_hash, null);
      assert.equal((await audits(w, 'token.pin.clear')).length, 1);
      assert.equal((await notices(w, user.email!)).length, 2);
      assert.ok(await codeAccepted(w, user.login, hotp(1)), 'the code alone works again');
    });

    it('SEC-14 step-up, 404 for another user\'s token, 403 when disabled', async () => {
      const w = await world();
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const other = await member(w);
      const theirs = await hotpToken(w, other.id, OTHER_SEED);
      const { agent, sid } = await signIn(w, user.login, hotp(0));
      assert.equal((await act(agent, w, 'configure_pin', { tokenId: theirs.id, pin: '4821', pinConfirm: '4821' })).status, 404);
      assert.equal((await act(agent, w, 'configure_pin/remove', { tokenId: theirs.id })).status, 404);
      await ageSecondFactor(sid, 6);
      assertStepUpPage(await agent.get(actionUrl(w, 'configure_pin')), w, 'configure_pin');
      assertStepUpRefused(await act(agent, w, 'configure_pin', { tokenId: t.id, pin: '4821', pinConfirm: '4821' }));
      assert.equal((await tokenRow(t.id)).pin_hash, null);
      assert.equal((await tokenRow(theirs.id)).pin_hash, null);

      const off = await world({ actions: ['sync_token'] });
      const u2 = await member(off);
      const t2 = await hotpToken(off, u2.id);
      const s2 = await signIn(off, u2.login, hotp(0));
      await assertDisabled(s2.agent, off, 'configure_pin', [['configure_pin', { tokenId: t2.id, pin: '4821', pinConfirm: '4821' }], ['configure_pin/remove', { tokenId: t2.id }]]);
      assert.equal((await tokenRow(t2.id)).pin_hash, null);
    });
  });

  describe('Assign Existing Token', () => {
    it('brings the user\'s own token from another resource here: audited, notified, signs in here', async () => {
      const w = await world();
      const user = await member(w);
      const elsewhere = await createResource(ctx.services, w.tenant);
      await ctx.services.users.assign(w.tenant.actor, elsewhere.id, user.id);
      const t = await hotpToken(w, user.id, SEED, elsewhere.id);
      const { agent } = await signIn(w, user.login);
      const page = await agent.get(actionUrl(w, 'assign_token'));
      assert.equal(page.status, 200);
      assert.ok(page.text.includes(`value="${t.id}"`));
      assert.ok(page.text.includes(elsewhere.name));

      assertDone(await act(agent, w, 'assign_token', { tokenId: t.id }), w, 'assign own');
      assert.ok(await assignment(t.id, w.portal.resource.id));
      assert.ok(await assignment(t.id, elsewhere.id), 'still in the other resource');
      const [event] = (await audits(w, 'resource.token.assign')).filter((e) => e.actor_type === 'user');
      assert.ok(event, 'audited as the user');
      assert.equal(event.actor_type, 'user');
      assert.equal(event.resource_id, w.portal.resource.id);
      assert.equal((await notices(w, user.email!))[0].subject, 'A token was added');
      assert.ok(await secondFactorWorks(w, user.login, hotp(0)), 'the token now signs in here');
    });

    it('respects max tokens per user (409); another user\'s token or one in no resource of the user is 404', async () => {
      const w = await world();
      const user = await member(w);
      await hotpToken(w, user.id);
      const elsewhere = await createResource(ctx.services, w.tenant);
      await ctx.services.users.assign(w.tenant.actor, elsewhere.id, user.id);
      const second = await hotpToken(w, user.id, OTHER_SEED, elsewhere.id);
      const unassigned = await hotpToken(w, user.id, OTHER_SEED, null);
      const other = await member(w, elsewhere.id);
      const theirs = await hotpToken(w, other.id, OTHER_SEED, elsewhere.id);
      const { agent } = await signIn(w, user.login, hotp(0));

      const full = await act(agent, w, 'assign_token', { tokenId: second.id });
      assert.equal(full.status, 409);
      assert.match(alertOf(full.text) ?? '', /You already have the maximum of 1 token\(s\) in this portal\./);
      for (const tokenId of [theirs.id, unassigned.id]) assert.equal((await act(agent, w, 'assign_token', { tokenId })).status, 404, tokenId);
      for (const id of [second.id, theirs.id, unassigned.id]) assert.equal(await assignment(id, w.portal.resource.id), undefined);
    });

    it('claims a hardware token from stock by serial + current code; a wrong code and an unknown serial get the same answer', async () => {
      const w = await world();
      const user = await member(w);
      const hw = await token(w, { type: 'hardware', serial: unique('HW').toUpperCase(), secret: base32Encode(SEED), counter: 0 });
      const owned = await token(w, { type: 'hardware', serial: unique('HW').toUpperCase(), secret: base32Encode(OTHER_SEED), counter: 0, userId: (await member(w)).id });
      const { agent } = await signIn(w, user.login);

      const wrong = await act(agent, w, 'assign_token/claim', { serial: hw.serial, code: wrongCode() });
      const unknown = await act(agent, w, 'assign_token/claim', { serial: 'NO-SUCH-SERIAL', code: hotp(0) });
      const notStock = await act(agent, w, 'assign_token/claim', { serial: owned.serial, code: codeOf(OTHER_SEED, 0) });
      for (const res of [wrong, unknown, notStock]) {
        assert.equal(res.status, 422);
        assert.equal(alertOf(res.text), CLAIM_FAILED);
      }
      const strip = (html: string, serial: string) => html.replace(/value="[^"]*"/g, '').split(serial).join('');
      assert.equal(strip(wrong.text, hw.serial), strip(unknown.text, 'NO-SUCH-SERIAL'), 'same page for both');
      assert.equal((await tokenRow(hw.id)).user_id, null);
      assert.equal((await audits(w, 'portal.token.claim')).filter((e) => e.result === 'failure').length, 3);

      assertDone(await act(agent, w, 'assign_token/claim', { serial: hw.serial.toLowerCase(), code: hotp(0) }), w, 'claim');
      const row = await tokenRow(hw.id);
      assert.equal(row.user_id, user.id);
      assert.ok(await assignment(hw.id, w.portal.resource.id));
      assert.equal((await audits(w, 'portal.token.claim')).filter((e) => e.result === 'success').length, 1);
      assert.equal((await notices(w, user.email!))[0].subject, 'A token was added');
      assert.equal(row.hotp_counter, 1, 'SEC-05 the claiming code is spent');
      assert.equal(await codeAccepted(w, user.login, hotp(0)), false, 'the claiming code cannot be replayed');
      assert.ok(await secondFactorWorks(w, user.login, hotp(1)));
    });

    it('SEC-07 claims are throttled per user: the 11th answers 429', async () => {
      const w = await world();
      const user = await member(w);
      const hw = await token(w, { type: 'hardware', serial: unique('HW').toUpperCase(), secret: base32Encode(SEED), counter: 0 });
      const { agent } = await signIn(w, user.login);
      for (let i = 0; i < 10; i++) assert.equal((await act(agent, w, 'assign_token/claim', { serial: `${hw.serial}-${i}`, code: hotp(0) })).status, 422);
      const limited = await act(agent, w, 'assign_token/claim', { serial: hw.serial, code: hotp(0) });
      assert.equal(limited.status, 429);
      assert.equal(alertOf(limited.text), TOO_MANY);
      assert.equal((await tokenRow(hw.id)).user_id, null);
    });

    it('SEC-14 step-up when the user has a token here; 403 when disabled', async () => {
      const w = await world({ resource: { maxTokensPerUser: 2 } });
      const user = await member(w);
      await hotpToken(w, user.id);
      const hw = await token(w, { type: 'hardware', serial: unique('HW').toUpperCase(), secret: base32Encode(OTHER_SEED), counter: 0 });
      const { agent, sid } = await signIn(w, user.login, hotp(0));
      await ageSecondFactor(sid, 6);
      assertStepUpPage(await agent.get(actionUrl(w, 'assign_token')), w, 'assign_token');
      assertStepUpRefused(await act(agent, w, 'assign_token/claim', { serial: hw.serial, code: codeOf(OTHER_SEED, 0) }));
      assert.equal((await tokenRow(hw.id)).user_id, null);

      const off = await world({ actions: ['unassign_token'] });
      const u2 = await member(off);
      const hw2 = await token(off, { type: 'hardware', serial: unique('HW').toUpperCase(), secret: base32Encode(SEED), counter: 0 });
      const s2 = await signIn(off, u2.login);
      await assertDisabled(s2.agent, off, 'assign_token', [['assign_token/claim', { serial: hw2.serial, code: hotp(0) }], ['assign_token', { tokenId: hw2.id }]]);
      assert.equal((await tokenRow(hw2.id)).user_id, null);
    });
  });

  describe('Reissue Token', () => {
    /** The new seed from the one-time page's manual key. */
    const newSeedOf = (html: string) => base32Decode(html.match(/id="manual-key">([^<]+)</)![1].replace(/\s+/g, ''));

    it('SEC-03 new key shown once (no-store); the old key works until the new one is proven, then stops; audited and notified', async () => {
      const w = await world();
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const { agent } = await signIn(w, user.login, hotp(0));
      const before = await tokenRow(t.id);

      const page = await agent.get(actionUrl(w, 'reissue_token'));
      assert.equal(page.status, 200);
      assert.ok(page.text.includes(`value="${t.id}"`));
      const started = await act(agent, w, 'reissue_token', { tokenId: t.id });
      assert.equal(started.status, 200, started.text.slice(0, 300));
      assert.match(String(started.headers['cache-control']), /no-store/);
      assert.match(started.text, /<svg/);
      const newSeed = newSeedOf(started.text);
      assert.notDeepEqual(newSeed, SEED);
      const pending = await tokenRow(t.id);
      assert.ok(pending.pending_seed_sealed, 'pending seed stored');
      assert.ok(!pending.pending_seed_sealed.includes(base32Encode(newSeed)), 'sealed');
      assert.equal(pending.seed_sealed, before.seed_sealed, 'old seed unchanged');
      assert.ok(await codeAccepted(w, user.login, hotp(1)), 'the old key still signs in');
      assert.match((await agent.get(actionUrl(w, 'reissue_token'))).text, /Confirm the new key/);

      const wrong = await act(agent, w, 'reissue_token/confirm', { tokenId: t.id, code: hotp(2) });
      assert.equal(wrong.status, 422, 'a code of the old key does not confirm');
      assert.equal((await tokenRow(t.id)).seed_sealed, before.seed_sealed);

      assertDone(await act(agent, w, 'reissue_token/confirm', { tokenId: t.id, code: codeOf(newSeed, 0) }), w, 'confirm');
      const after = await tokenRow(t.id);
      assert.notEqual(after.seed_sealed, before.seed_sealed);
      assert.equal(after.pending_seed_sealed, null);
      assert.equal(after.hotp_counter, 1, 'the confirming code is spent');
      assert.equal((await audits(w, 'token.reissue')).filter((e) => e.result === 'success').length, 1);
      const subjects = (await notices(w, user.email!)).map((m) => m.subject);
      assert.deepEqual(subjects, ['Your token was reissued']);
      for (const m of await notices(w, user.email!)) assert.ok(!m.body_text.includes(base32Encode(newSeed)), 'no seed in the notice');

      assert.equal(await codeAccepted(w, user.login, hotp(2)), false, 'the old key no longer signs in');
      assert.equal(await codeAccepted(w, user.login, codeOf(newSeed, 0)), false, 'the confirming code cannot be replayed');
      assert.ok(await secondFactorWorks(w, user.login, codeOf(newSeed, 1)), 'the new key signs in');
    });

    it('an expired pending key cannot be confirmed; hardware tokens are not reissued; another user\'s token is 404', async () => {
      const w = await world({ resource: { maxTokensPerUser: 2 } });
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const hw = await token(w, { type: 'hardware', userId: user.id, secret: base32Encode(OTHER_SEED), counter: 0 }, w.portal.resource.id);
      const other = await member(w);
      const theirs = await hotpToken(w, other.id, OTHER_SEED);
      const { agent } = await signIn(w, user.login, hotp(0));

      const started = await act(agent, w, 'reissue_token', { tokenId: t.id });
      assert.equal(started.status, 200);
      const newSeed = newSeedOf(started.text);
      await ctx.services.db('tokens').where({ id: t.id }).update({ pending_seed_at: ctx.services.db.raw(`now() - interval '11 minutes'`) });
      const expired = await act(agent, w, 'reissue_token/confirm', { tokenId: t.id, code: codeOf(newSeed, 0) });
      assert.equal(expired.status, 422);
      assert.equal(alertOf(expired.text), REISSUE_EXPIRED);
      assert.ok(await codeAccepted(w, user.login, hotp(1)), 'the old key still works');

      assert.equal((await act(agent, w, 'reissue_token', { tokenId: hw.id })).status, 422);
      assert.equal((await act(agent, w, 'reissue_token', { tokenId: theirs.id })).status, 404);
      assert.equal((await tokenRow(hw.id)).pending_seed_sealed, null);
      assert.equal((await tokenRow(theirs.id)).pending_seed_sealed, null);
    });

    it('SEC-14 step-up; 403 when disabled', async () => {
      const w = await world();
      const user = await member(w);
      const t = await hotpToken(w, user.id);
      const { agent, sid } = await signIn(w, user.login, hotp(0));
      await ageSecondFactor(sid, 6);
      assertStepUpPage(await agent.get(actionUrl(w, 'reissue_token')), w, 'reissue_token');
      assertStepUpRefused(await act(agent, w, 'reissue_token', { tokenId: t.id }));
      assert.equal((await tokenRow(t.id)).pending_seed_sealed, null);

      const off = await world({ actions: ['sync_token'] });
      const u2 = await member(off);
      const t2 = await hotpToken(off, u2.id);
      const s2 = await signIn(off, u2.login, hotp(0));
      await assertDisabled(s2.agent, off, 'reissue_token', [['reissue_token', { tokenId: t2.id }], ['reissue_token/confirm', { tokenId: t2.id, code: hotp(1) }]]);
      assert.equal((await tokenRow(t2.id)).pending_seed_sealed, null);
    });
  });
});
