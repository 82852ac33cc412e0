/**
 * The RADIUS connector's modes against the real service, with a client built on the `radius`
 * package: otp, password_otp, challenge (TOTP and emailed codes, State rules), locked and unknown
 * users. The service makes every decision; the connector maps it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertSimilarTiming } from '../helpers/timing';
import { ask, counted, radiusStack, totpAt, PASSWORD, type Connector, type RadiusStack, type Reply } from '../helpers/radius';

/** What a NAS can see of an answer besides its code: the attribute names (the authenticators differ by design). */
const shape = (r: Reply | null) => r && { code: r.code, attributes: Object.keys(r.attributes).sort() };

describe('radius: modes', () => {
  let stack: RadiusStack;
  let otp: Connector;
  let passwordOtp: Connector;
  let challenge: Connector;
  let shortChallenge: Connector;
  before(async () => {
    stack = await radiusStack({ failedAttemptsLimit: 5 });
    otp = await stack.connector('otp');
    passwordOtp = await stack.connector('password_otp');
    challenge = await stack.connector('challenge', { RADIUS_CLIENTS: '127.0.0.1:a-shared-secret-of-the-vpn,127.0.0.2:a-shared-secret-of-the-vpn' });
    shortChallenge = await stack.connector('challenge', { RADIUS_CHALLENGE_SECONDS: '1' });
  });
  after(() => stack.close());

  const member = (userId: string) => stack.ctx.services.db('resource_users').where({ resource_id: stack.resourceId, user_id: userId }).first();

  it('otp: the code alone is checked by the service; a replayed code is refused', async () => {
    const user = await stack.user();
    const code = totpAt();
    assert.equal((await ask(otp.port, [['User-Name', user.login], ['User-Password', code]]))?.code, 'Access-Accept');
    const replay = await ask(otp.port, [['User-Name', user.login], ['User-Password', code]]);
    assert.equal(replay?.code, 'Access-Reject', 'a code works once, also through RADIUS');
    assert.equal((await member(user.id)).fail_count, 1, 'the replay counted as a failure in the service');
  });

  it('password_otp: the password followed by the code; a wrong password or code is refused', async () => {
    const user = await stack.user();
    assert.equal((await ask(passwordOtp.port, [['User-Name', user.login], ['User-Password', `wrong${totpAt()}`]]))?.code, 'Access-Reject');
    assert.equal((await ask(passwordOtp.port, [['User-Name', user.login], ['User-Password', `${PASSWORD}000000`]]))?.code, 'Access-Reject');
    assert.equal((await ask(passwordOtp.port, [['User-Name', user.login], ['User-Password', totpAt()]]))?.code, 'Access-Reject', 'the code alone is not enough');
    assert.equal((await ask(passwordOtp.port, [['User-Name', user.login], ['User-Password', `${PASSWORD}${totpAt()}`]]))?.code, 'Access-Accept');
  });

  it('challenge: password, then Access-Challenge with a State, then the State with the code gets Access-Accept; the State works once', async () => {
    const user = await stack.user();
    const first = await ask(challenge.port, [['User-Name', user.login], ['User-Password', PASSWORD]]);
    assert.equal(first?.code, 'Access-Challenge');
    assert.equal(first!.attributes['Reply-Message'], 'Enter the code from your authenticator');
    const state = first!.attributes.State as Buffer;
    assert.equal(state.length, 16);
    const code = totpAt();
    assert.equal((await ask(challenge.port, [['User-Name', user.login], ['User-Password', code], ['State', state]]))?.code, 'Access-Accept');
    assert.equal((await member(user.id)).fail_count, 0, 'the code reset the count the password step held');
    const again = await ask(challenge.port, [['User-Name', user.login], ['User-Password', totpAt(1)], ['State', state]]);
    assert.equal(again?.code, 'Access-Reject', 'a State works once');
  });

  it('challenge: a wrong password is refused without a challenge; a wrong code after the challenge is refused', async () => {
    const user = await stack.user();
    assert.equal((await ask(challenge.port, [['User-Name', user.login], ['User-Password', 'not the passphrase']]))?.code, 'Access-Reject');
    const first = await ask(challenge.port, [['User-Name', user.login], ['User-Password', PASSWORD]]);
    const state = first!.attributes.State as Buffer;
    assert.equal((await ask(challenge.port, [['User-Name', user.login], ['User-Password', '000000'], ['State', state]]))?.code, 'Access-Reject');
  });

  it('challenge: an email token gets its code sent through the challenge API, and that code answers the challenge', async () => {
    const user = await stack.user('email');
    const first = await ask(challenge.port, [['User-Name', user.login], ['User-Password', PASSWORD]]);
    assert.equal(first?.code, 'Access-Challenge');
    assert.equal(first!.attributes['Reply-Message'], 'Enter the code sent to you by email');
    const message = await stack.ctx.services.db('messages').where({ tenant_id: stack.tenant.tenantId, recipient: user.email }).first();
    const code = message.body_text.match(/\b(\d{6})\b/)[1];
    const state = first!.attributes.State as Buffer;
    assert.equal((await ask(challenge.port, [['User-Name', user.login], ['User-Password', code], ['State', state]]))?.code, 'Access-Accept');
  });

  it('challenge: a user with no token gets Accept on the password alone only when the resource does not require a second factor', async () => {
    const user = await stack.user(null);
    assert.equal((await ask(challenge.port, [['User-Name', user.login], ['User-Password', PASSWORD]]))?.code, 'Access-Accept');
    await stack.ctx.services.resources.update(stack.tenant.actor, stack.resourceId, { requireSecondFactor: true });
    try {
      assert.equal((await ask(challenge.port, [['User-Name', user.login], ['User-Password', PASSWORD]]))?.code, 'Access-Reject');
    } finally {
      await stack.ctx.services.resources.update(stack.tenant.actor, stack.resourceId, { requireSecondFactor: false });
    }
  });

  it('challenge: a State is refused for another user and from another client, and still works for its own', async () => {
    const user = await stack.user();
    const other = await stack.user();
    const first = await ask(challenge.port, [['User-Name', user.login], ['User-Password', PASSWORD]]);
    const state = first!.attributes.State as Buffer;
    const foreignUser = await ask(challenge.port, [['User-Name', other.login], ['User-Password', totpAt()], ['State', state]]);
    assert.equal(foreignUser?.code, 'Access-Reject');
    const foreignClient = await ask(challenge.port, [['User-Name', user.login], ['User-Password', totpAt()], ['State', state]], { from: '127.0.0.2' });
    assert.equal(foreignClient?.code, 'Access-Reject');
    const invented = await ask(challenge.port, [['User-Name', user.login], ['User-Password', totpAt()], ['State', Buffer.alloc(16, 7)]]);
    assert.equal(invented?.code, 'Access-Reject');
    assert.equal((await ask(challenge.port, [['User-Name', user.login], ['User-Password', totpAt()], ['State', state]]))?.code, 'Access-Accept');
  });

  it('challenge: an expired State is refused', async () => {
    const user = await stack.user();
    const first = await ask(shortChallenge.port, [['User-Name', user.login], ['User-Password', PASSWORD]]);
    assert.equal(first?.code, 'Access-Challenge');
    await new Promise((r) => setTimeout(r, 1100));
    const late = await ask(shortChallenge.port, [['User-Name', user.login], ['User-Password', totpAt()], ['State', first!.attributes.State as Buffer]]);
    assert.equal(late?.code, 'Access-Reject');
  });

  it('a locked user is refused with the right code, exactly like a wrong code', async () => {
    const user = await stack.user();
    const wrong = await ask(otp.port, [['User-Name', user.login], ['User-Password', '000000']]);
    await stack.ctx.services.db('resource_users').where({ resource_id: stack.resourceId, user_id: user.id }).update({ fail_count: 5, locked_until: new Date(Date.now() + 60_000) });
    const locked = await ask(otp.port, [['User-Name', user.login], ['User-Password', totpAt()]]);
    assert.deepEqual(shape(locked), shape(wrong));
    assert.equal(locked?.code, 'Access-Reject');
    const first = await ask(challenge.port, [['User-Name', user.login], ['User-Password', PASSWORD]]);
    assert.equal(first?.code, 'Access-Reject', 'challenge mode: no challenge for a locked user');
  });

  it('an unknown user is refused exactly like a wrong code, in every mode', async () => {
    const user = await stack.user();
    for (const [c, password] of [[otp, '000000'], [passwordOtp, `${PASSWORD}000000`], [challenge, 'not the passphrase']] as const) {
      const wrong = await ask(c.port, [['User-Name', user.login], ['User-Password', password]]);
      const unknown = await ask(c.port, [['User-Name', 'nobody-by-this-name'], ['User-Password', password]]);
      assert.equal(unknown?.code, 'Access-Reject');
      assert.deepEqual(shape(unknown), shape(wrong));
    }
    const odd = await ask(otp.port, [['User-Name', 'with space*'], ['User-Password', '000000']]);
    assert.deepEqual(shape(odd), { code: 'Access-Reject', attributes: ['Message-Authenticator'] }, 'a login the API refuses (422) is a plain reject');
  });

  it('challenge: an unknown user and a wrong password take the same time (medians of interleaved runs)', async () => {
    // Thirty users, one wrong password each per measurement (three at most): none reaches the lock
    // (a locked check costs less).
    const users = await Promise.all(Array.from({ length: 30 }, () => stack.user()));
    const reject = (login: () => string) => async () => {
      const reply = await ask(challenge.port, [['User-Name', login()], ['User-Password', 'not the passphrase']]);
      assert.equal(reply?.code, 'Access-Reject');
    };
    let i = 0;
    await assertSimilarTiming(
      { known: reject(() => users[i++ % users.length]!.login), unknown: reject(() => `nobody-${i}-${Date.now()}`) },
      { rounds: 27, toleranceMs: 8 },
    );
  });

  it('counts answers in mfa_radius_requests_total', async () => {
    assert.ok((await counted(otp, 'accept')) >= 1);
    assert.ok((await counted(otp, 'reject')) >= 1);
    assert.ok((await counted(challenge, 'challenge')) >= 1);
  });
});
