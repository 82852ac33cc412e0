/**
 * WebAuthn in the portal through HTTP (SPEC §5.3 Enroll Token `webauthn`, §5.2 step 3; SEC-07,
 * SEC-08, SEC-14, SEC-26): the enrolment endpoints refuse a disabled type, a bogus answer stores
 * nothing, a challenge is used once, a password-only session cannot add a second key, a
 * credential id belongs to one token, and at sign-in a key-only user cannot pass with a typed
 * code, a failed assertion counts toward the lock, a lock refuses even a good assertion, and a
 * sign counter that does not move forward is refused. A small software authenticator below
 * (ES256, "none" attestation) makes real ceremonies; requests carry `Host: localhost:3000`
 * because WebAuthn needs a domain as RP ID.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createUser, unique, type TestTenant } from '../helpers/factories';
import { csrfOf, type Agent } from '../helpers/admin-agent';
import { createPortal, enterLogin, enterSecondFactor, enterSecret, landingAfterPassword, visitor, type TestPortal } from '../helpers/portal';

const PASSWORD = 'a long portal passphrase';
const HOST = 'localhost:3000';
const ORIGIN = `http://${HOST}`;

// ---- A software authenticator: just enough CBOR, COSE and signing for ES256 + "none" ----

function cborHead(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  const b = Buffer.alloc(3);
  b[0] = (major << 5) | 25;
  b.writeUInt16BE(n, 1);
  return b;
}

function cbor(value: unknown): Buffer {
  if (typeof value === 'number') return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([cborHead(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([cborHead(2, value.length), value]);
  if (value instanceof Map) return Buffer.concat([cborHead(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  throw new Error(`cbor: unsupported ${typeof value}`);
}

const b64url = (b: Buffer) => b.toString('base64url');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest();

class SoftKey {
  readonly id: Buffer = randomBytes(32);
  private readonly privateKey: KeyObject;
  private readonly cose: Buffer;
  counter = 0;

  constructor(id?: Buffer) {
    if (id) this.id = id;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.cose = cbor(new Map<number, unknown>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]));
  }

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
  }

  /** The answer to registration options (what @simplewebauthn/browser's startRegistration posts). */
  register(options: { challenge: string; rp: { id: string } }, origin = ORIGIN) {
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin, crossOrigin: false }));
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(this.id.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLength, this.id, this.cose]);
    const authData = this.authData(options.rp.id, 0x01 | 0x04 | 0x40, this.counter, attested);
    const attestationObject = cbor(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
    return {
      id: b64url(this.id),
      rawId: b64url(this.id),
      type: 'public-key',
      response: { clientDataJSON: b64url(clientData), attestationObject: b64url(attestationObject), transports: ['usb'] },
      clientExtensionResults: {},
    };
  }

  /** The answer to authentication options; `counter` overrides the next counter value. */
  assert(options: { challenge: string; rpId: string }, counter = ++this.counter, origin = ORIGIN) {
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: options.challenge, origin, crossOrigin: false }));
    const authData = this.authData(options.rpId, 0x01 | 0x04, counter);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), this.privateKey);
    return {
      id: b64url(this.id),
      rawId: b64url(this.id),
      type: 'public-key',
      response: { clientDataJSON: b64url(clientData), authenticatorData: b64url(authData), signature: b64url(signature) },
      clientExtensionResults: {},
    };
  }
}

// ---- The tests ----

describe('portal WebAuthn (SPEC §5.3 webauthn, §5.2 step 3)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(async () => {
    await ctx?.close();
  });

  interface World {
    tenant: TestTenant;
    portal: TestPortal;
    enrol: string;
  }

  async function world(options: { types?: string[]; actions?: string[]; maxTokensPerUser?: number } = {}): Promise<World> {
    const tenant = await createTenant(ctx.services);
    const portal = await createPortal(ctx.services, tenant, {
      allowedActions: options.actions ?? ['enroll_token'],
      enrollmentTokenTypes: options.types ?? ['webauthn'],
      resource: { maxTokensPerUser: options.maxTokensPerUser ?? 3, failedAttemptsLimit: 3 },
    });
    return { tenant, portal, enrol: `${portal.base}actions/enroll_token/webauthn` };
  }

  async function member(w: World) {
    const user = await createUser(ctx.services, w.tenant, { login: unique('kim'), email: `${unique('kim')}@example.test`, password: PASSWORD });
    await ctx.services.users.assign(w.tenant.actor, w.portal.resource.id, user.id);
    return user;
  }

  /** Login and password; answers the password step's redirect target. */
  async function passwordStep(agent: Agent, w: World, login: string): Promise<string> {
    assert.equal((await enterLogin(agent, w.portal, login)).status, 303);
    const res = await enterSecret(agent, w.portal, PASSWORD);
    assert.equal(res.status, 303, res.text.slice(0, 200));
    return String(res.headers.location);
  }

  async function signedIn(w: World, login: string): Promise<Agent> {
    const agent = visitor(ctx.app);
    assert.equal(await passwordStep(agent, w, login), await landingAfterPassword(ctx.services, w.portal, w.tenant.tenantId, login), 'signed in with the password alone');
    return agent;
  }

  /** A JSON POST as static/webauthn.js sends it (CSRF header from `page`). */
  async function postJson(agent: Agent, page: string, url: string, body: unknown = {}, host = HOST) {
    const token = await csrfOf(agent, page);
    return agent.post(url).set('Host', host).set('x-csrf-token', token).set('Accept', 'application/json').send(body as object);
  }

  const tokensOf = (w: World, userId: string) => ctx.services.db('tokens').where({ tenant_id: w.tenant.tenantId, user_id: userId });
  const credentialsOf = (tokenIds: string[]) => ctx.services.db('token_webauthn_credentials').whereIn('token_id', tokenIds);

  /** Enrols a software key for a password-only, token-less session; answers the stored token id. */
  async function enrolKey(agent: Agent, w: World, key: SoftKey, name = 'Soft key'): Promise<string> {
    const options = await postJson(agent, w.enrol, `${w.enrol}/options`);
    assert.equal(options.status, 200, options.text);
    const done = await postJson(agent, w.enrol, w.enrol, { name, response: key.register(options.body) });
    assert.equal(done.status, 200, done.text);
    assert.deepEqual(done.body, { redirect: w.portal.base });
    const token = await ctx.services.db('tokens').where({ tenant_id: w.tenant.tenantId, name, type: 'webauthn' }).orderBy('created_at', 'desc').first();
    return token.id;
  }

  it('SEC-14 a disabled webauthn type or Enroll Token action is refused (403) on every enrol endpoint', async () => {
    for (const config of [{ types: ['totp'] }, { actions: ['change_name'], types: ['webauthn'] }]) {
      const w = await world(config);
      const user = await member(w);
      const agent = await signedIn(w, user.login);
      const page = await agent.get(w.enrol).set('Host', HOST);
      assert.equal(page.status, 403, `GET the page (${JSON.stringify(config)})`);
      const options = await postJson(agent, w.portal.base, `${w.enrol}/options`);
      assert.equal(options.status, 403, `options (${JSON.stringify(config)}): ${options.text.slice(0, 200)}`);
      const verify = await postJson(agent, w.portal.base, w.enrol, { name: 'x', response: new SoftKey().register({ challenge: 'abc', rp: { id: 'localhost' } }) });
      assert.equal(verify.status, 403, `verify (${JSON.stringify(config)})`);
      assert.equal((await tokensOf(w, user.id)).length, 0, 'nothing stored');
    }
  });

  it('SEC-26 a bogus registration answer is refused (422) and stores nothing; a challenge is used once', async () => {
    const w = await world();
    const user = await member(w);
    const agent = await signedIn(w, user.login);
    const page = await agent.get(w.enrol).set('Host', HOST);
    assert.equal(page.status, 200);
    assert.match(page.text, /Register security key/);
    assert.match(page.text, /<script src="\/static\/webauthn\.js">/);

    const ip = await postJson(agent, w.enrol, `${w.enrol}/options`, {}, '127.0.0.1:3000');
    assert.equal(ip.status, 400, 'an IP address cannot be an RP ID');
    assert.match(ip.body.error.message, /domain name/);

    const noChallenge = await postJson(agent, w.enrol, w.enrol, { name: 'x', response: new SoftKey().register({ challenge: 'abc', rp: { id: 'localhost' } }) });
    assert.equal(noChallenge.status, 400, 'an answer without options first');

    const options = await postJson(agent, w.enrol, `${w.enrol}/options`);
    assert.equal(options.status, 200, options.text);
    assert.equal(options.body.rp.id, 'localhost');
    assert.deepEqual(options.body.excludeCredentials, []);
    const bogus = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'AAAA', attestationObject: 'AAAA' }, clientExtensionResults: {} };
    const refused = await postJson(agent, w.enrol, w.enrol, { name: 'Bogus', response: bogus });
    assert.equal(refused.status, 422, refused.text);
    assert.equal(refused.body.error.code, 'validation_failed');

    // A correct answer to the now spent challenge is refused too.
    const key = new SoftKey();
    const replay = await postJson(agent, w.enrol, w.enrol, { name: 'Late', response: key.register(options.body) });
    assert.equal(replay.status, 400, 'the challenge was used once already');

    // A wrong origin is refused.
    const fresh = await postJson(agent, w.enrol, `${w.enrol}/options`);
    const phished = await postJson(agent, w.enrol, w.enrol, { name: 'Phished', response: key.register(fresh.body, 'http://evil.example:3000') });
    assert.equal(phished.status, 422);

    assert.equal((await tokensOf(w, user.id)).length, 0, 'no token stored');
    const failures = await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'portal.token.enroll', result: 'failure' });
    assert.equal(failures.length, 2, 'the refused answers are audited');
  });

  it('SEC-14 a key enrols once; then a password-only session cannot add another, and a credential id belongs to one token', async () => {
    const w = await world();
    const user = await member(w);
    const agent = await signedIn(w, user.login);
    const key = new SoftKey();
    const tokenId = await enrolKey(agent, w, key, 'First key');
    const [stored] = await credentialsOf([tokenId]);
    assert.equal(stored.credential_id, b64url(key.id));
    assert.ok(await ctx.services.db('token_resources').where({ token_id: tokenId, resource_id: w.portal.resource.id }).first(), 'assigned to the resource');
    const dashboard = await agent.get(w.portal.base);
    assert.match(dashboard.text, /First key/);
    assert.match(dashboard.text, /is added/);

    // The same session has only proven the password: adding a second factor needs a fresh one.
    const again = await postJson(agent, w.portal.base, `${w.enrol}/options`);
    assert.equal(again.status, 403);
    assert.equal(again.body.error.code, 'step_up_required');
    assert.equal((await agent.get(w.enrol).set('Host', HOST)).status, 303, 'the page sends to the step-up');

    // Another user of the tenant presenting the same credential id gets a conflict, nothing stored.
    const other = await member(w);
    const otherAgent = await signedIn(w, other.login);
    const clone = new SoftKey(key.id);
    const options = await postJson(otherAgent, w.enrol, `${w.enrol}/options`);
    const conflict = await postJson(otherAgent, w.enrol, w.enrol, { name: 'Clone', response: clone.register(options.body) });
    assert.equal(conflict.status, 409, conflict.text);
    assert.equal((await tokensOf(w, other.id)).length, 0, 'no token for the second user');
  });

  describe('sign-in with a key', () => {
    async function keyUser() {
      const w = await world();
      const user = await member(w);
      const key = new SoftKey();
      await enrolKey(await signedIn(w, user.login), w, key);
      return { w, user, key };
    }

    async function atSecondFactor(w: World, login: string): Promise<Agent> {
      const agent = visitor(ctx.app);
      assert.equal(await passwordStep(agent, w, login), `${w.portal.base}sign-in/second-factor`);
      return agent;
    }

    const second = (w: World) => `${w.portal.base}sign-in/second-factor`;
    const lockRow = (w: World, userId: string) => ctx.services.db('resource_users').where({ resource_id: w.portal.resource.id, user_id: userId }).first();

    async function options(agent: Agent, w: World) {
      const res = await postJson(agent, second(w), `${second(w)}/webauthn/options`);
      assert.equal(res.status, 200, res.text);
      return res.body as { challenge: string; rpId: string; allowCredentials: Array<{ id: string }> };
    }

    it('a user with only a webauthn token cannot pass the second factor with a typed code', async () => {
      const { w, user } = await keyUser();
      const agent = await atSecondFactor(w, user.login);
      const page = await agent.get(second(w));
      assert.match(page.text, /Use your security key/);
      for (const code of ['123456', '00000000']) {
        const res = await enterSecondFactor(agent, w.portal, code);
        assert.equal(res.status, 401, `typed ${code}`);
      }
      const still = await agent.get(w.portal.base);
      assert.equal(still.headers.location, second(w), 'still at the second factor');
    });

    it('SEC-26 a valid assertion signs in; a replayed counter is refused', async () => {
      const { w, user, key } = await keyUser();
      const agent = await atSecondFactor(w, user.login);
      const opts = await options(agent, w);
      assert.deepEqual(opts.allowCredentials.map((c) => c.id), [b64url(key.id)]);
      const ok = await postJson(agent, second(w), `${second(w)}/webauthn`, { response: key.assert(opts) });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.body, { redirect: w.portal.base });
      assert.match((await agent.get(w.portal.base)).text, /id="tokens-h"/, 'the dashboard');
      const row = await ctx.services.db('token_webauthn_credentials').where({ credential_id: b64url(key.id) }).first();
      assert.equal(Number(row.sign_count), key.counter, 'the counter is stored');

      // A cloned key answering with a counter that did not move forward is refused and counted.
      const next = await atSecondFactor(w, user.login);
      const before = (await lockRow(w, user.id)).fail_count;
      const regress = await postJson(next, second(w), `${second(w)}/webauthn`, { response: key.assert(await options(next, w), key.counter) });
      assert.equal(regress.status, 401);
      assert.equal((await lockRow(w, user.id)).fail_count, before + 1, 'the failure counts toward the lock');
    });

    it('SEC-14 step-up with the key: a stale second factor sends a sensitive action to the step-up page, the key confirms and the action opens', async () => {
      const w = await world({ actions: ['enroll_token', 'change_password'] });
      const user = await member(w);
      const key = new SoftKey();
      await enrolKey(await signedIn(w, user.login), w, key);
      const agent = await atSecondFactor(w, user.login);
      assert.equal((await postJson(agent, second(w), `${second(w)}/webauthn`, { response: key.assert(await options(agent, w)) })).status, 200);
      const action = `${w.portal.base}actions/change_password`;
      assert.equal((await agent.get(action)).status, 200, 'fresh right after the key sign-in');
      await ctx.services.db.raw(`UPDATE sessions SET data = jsonb_set(data, '{portal,secondFactorAt}', to_jsonb(?::bigint)) WHERE data->'portal'->>'userId' = ?`, [Date.now() - 6 * 60_000, user.id]);
      const stale = await agent.get(action);
      assert.equal(stale.status, 303);
      const stepUp = String(stale.headers.location);
      assert.ok(stepUp.startsWith(`${w.portal.base}step-up?next=`), stepUp);
      const page = await agent.get(stepUp);
      assert.match(page.text, /Use your security key/);
      const verifyUrl = `${w.portal.base}step-up/webauthn?next=${encodeURIComponent(action)}`;
      const opts = await postJson(agent, stepUp, `${w.portal.base}step-up/webauthn/options`);
      assert.equal(opts.status, 200, opts.text);
      const bad = await postJson(agent, stepUp, verifyUrl, { response: { id: 'bogus' } });
      assert.equal(bad.status, 401, 'a bogus answer is refused');
      const again = await postJson(agent, stepUp, `${w.portal.base}step-up/webauthn/options`);
      const ok = await postJson(agent, stepUp, verifyUrl, { response: key.assert(again.body) });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.body, { redirect: action });
      assert.equal((await agent.get(action)).status, 200, 'the action opens after the step-up');
    });

    it('SEC-07/SEC-08 failed assertions count toward the lock, and a locked user is refused even with a good assertion', async () => {
      const { w, user, key } = await keyUser();
      const agent = await atSecondFactor(w, user.login);
      for (let i = 0; i < 3; i++) {
        const opts = await options(agent, w);
        const forged = key.assert(opts);
        forged.response.signature = b64url(randomBytes(70));
        const res = await postJson(agent, second(w), `${second(w)}/webauthn`, { response: forged });
        assert.equal(res.status, 401, `forged ${i}`);
        // Issue 15 §1: once the failures lock the user (past the first factor), the answer names the lock.
        assert.match(res.body.error.message, /not accepted|is locked in this portal/);
      }
      const noChallenge = await postJson(agent, second(w), `${second(w)}/webauthn`, { response: key.assert({ challenge: 'abc', rpId: 'localhost' }) });
      assert.equal(noChallenge.status, 401, 'an answer without a challenge');
      const locked = await lockRow(w, user.id);
      assert.ok(locked.locked_until, 'locked at the limit');
      const good = await postJson(agent, second(w), `${second(w)}/webauthn`, { response: key.assert(await options(agent, w)) });
      assert.equal(good.status, 401, 'a lock refuses even a valid assertion');
      assert.match(good.body.error.message, /Your account is locked in this portal after too many wrong attempts\. You can try again in/);
      const audit = await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'user.locked', target_id: user.id });
      assert.equal(audit.length, 1, 'the lock is audited');
    });
  });
});
