/** POST /api/v1/resources/{id}/authenticate and the unlock route, through HTTP (SPEC §3). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, createUser } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { base32Encode, generateHotp, generateTotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const TOTP = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;
const HOTP = { kind: 'hotp', algorithm: 'SHA1', digits: 6 } as const;
const totpNow = () => generateTotp(SEED, Date.now(), TOTP);
const REFUSED = '{"result":false}';

describe('api: authenticate', () => {
  let ctx: TestContext;
  let server: Server;
  before(async () => {
    ctx = await createTestContext();
    // One listening server for the concurrency tests (supertest(app) opens one per request).
    server = ctx.app.listen(0, '127.0.0.1');
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await ctx.close();
  });

  /** A tenant, a resource, a user assigned to it with a token (when given) assigned too. */
  async function setup(resourceInput: Record<string, unknown> = {}, tokenInput: Record<string, unknown> | null = { type: 'totp' }, userInput: Record<string, unknown> = {}) {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const api = apiClient(ctx.app, tenant.apiKey);
    const resource = await createResource(s, tenant, resourceInput);
    const user = await createUser(s, tenant, userInput);
    await s.users.assign(tenant.actor, resource.id, user.id);
    let tokenId = '';
    if (tokenInput) {
      const created = await api.post('/tokens', { userId: user.id, secret: base32Encode(SEED), ...tokenInput });
      assert.equal(created.status, 201, created.text);
      tokenId = created.body.id;
      assert.equal((await api.put(`/resources/${resource.id}/tokens/${tokenId}`)).status, 204);
    }
    const path = `/resources/${resource.id}/authenticate`;
    const auth = (body: Record<string, unknown>) => api.post(path, { login: user.login, ...body });
    const member = () => s.db('resource_users').where({ resource_id: resource.id, user_id: user.id }).first();
    return { tenant, api, resource, user, tokenId, path, auth, member };
  }

  it('SEC-05 50 concurrent requests with the same valid code give exactly one result: true', async () => {
    const { tenant, path, user } = await setup();
    const code = totpNow();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => request(server).post(`/api/v1${path}`).set('Authorization', `Bearer ${tenant.apiKey}`).send({ login: user.login, otp: code })),
    );
    assert.ok(responses.every((r) => r.status === 200), responses.map((r) => r.status).join(','));
    assert.equal(responses.filter((r) => r.body.result === true).length, 1);
    assert.ok(responses.filter((r) => !r.body.result).every((r) => r.text === REFUSED));
  });

  it('SEC-07 100 concurrent wrong codes against a limit of 5 count exactly 5 failures and lock; a right code is refused until unlocked through the API', async () => {
    const { tenant, api, path, user, resource, tokenId, member, auth } = await setup({ failedAttemptsLimit: 5, lockMinutes: 5 });
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => request(server).post(`/api/v1${path}`).set('Authorization', `Bearer ${tenant.apiKey}`).send({ login: user.login, otp: '000000' })),
    );
    assert.ok(responses.every((r) => r.status === 200 && r.text === REFUSED));
    const row = await member();
    assert.equal(row.fail_count, 5);
    assert.ok(row.locked_until > new Date(), 'locked');
    assert.equal((await ctx.services.db('tokens').where({ id: tokenId }).first()).fail_count, 5, 'only checked codes count on the token');

    const code = totpNow();
    const locked = await auth({ otp: code });
    assert.equal(locked.text, REFUSED, 'SEC-08 locked: same answer as a wrong code');
    const state = await api.get(`/users/${user.id}/resources`);
    assert.equal(state.body.items[0].locked, true);

    const unlock = await api.post(`/resources/${resource.id}/users/${user.id}/unlock`);
    assert.equal(unlock.status, 204, unlock.text);
    assert.equal((await member()).fail_count, 0);
    assert.equal((await auth({ otp: code })).body.result, true, 'the code was not consumed while locked');
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'resource.user.unlock' });
    assert.equal(audit.length, 1);
  });

  it('SEC-22 SEC-15 every refusal is the byte-identical body {"result":false}', async () => {
    const s = ctx.services;
    const { tenant, api, resource, tokenId, path, auth } = await setup({ failedAttemptsLimit: 3 }, { type: 'hotp', counter: 0 }, { password: 'a long passphrase' });
    const raw = (body: Record<string, unknown>) => api.post(path, body);
    const code = (n: number) => generateHotp(SEED, n, HOTP);
    const outsider = await createUser(s, tenant, { password: 'a long passphrase' });
    const noToken = await createUser(s, tenant);
    await s.users.assign(tenant.actor, resource.id, noToken.id);
    const blocked = await createUser(s, tenant);
    await s.users.assign(tenant.actor, resource.id, blocked.id);
    await s.users.block(tenant.actor, blocked.id);

    const refusals: Record<string, request.Response> = {
      unknownLogin: await raw({ login: 'nobody-here', otp: code(0) }),
      unassignedUser: await raw({ login: outsider.login, otp: code(0), password: 'a long passphrase' }),
      blockedUser: await raw({ login: blocked.login, otp: code(0) }),
      assignedWithoutToken: await raw({ login: noToken.login, otp: code(0) }),
      wrongPassword: await auth({ otp: code(0), password: 'not the passphrase' }),
      passwordOnlyWithToken: await auth({ password: 'a long passphrase' }),
    };
    assert.equal((await auth({ otp: code(0) })).body.result, true, 'the right code was not consumed by the refusals');
    refusals.wrongCode = await auth({ otp: code(0) });
    await api.patch(`/tokens/${tokenId}`, { enabled: false });
    refusals.disabledToken = await auth({ otp: code(1) });
    await api.patch(`/tokens/${tokenId}`, { enabled: true });
    await auth({ otp: '000000' }); // the third failure in a row: locked
    refusals.locked = await auth({ otp: code(1) });
    for (const [kind, res] of Object.entries(refusals)) {
      assert.equal(res.status, 200, kind);
      assert.equal(res.text, REFUSED, kind);
      assert.match(String(res.headers['content-type']), /^application\/json/, kind);
    }
    const reasons = (await s.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'authenticate' }).orderBy('id')).map((e) => e.details.reason);
    assert.deepEqual(reasons, ['unknown_user', 'unknown_user', 'blocked', 'no_token', 'wrong_password', 'second_factor_required', 'ok', 'wrong_code', 'no_token', 'wrong_code', 'locked']);
  });

  it('SEC-21 malformed requests get 400/422 before any lookup; unknown resource 404; no key 401', async () => {
    const { api, path, member, resource, user } = await setup();
    const cases: Array<[unknown, number, string]> = [
      [{ otp: '123456' }, 422, 'login'],
      [{ login: '   ', otp: '123456' }, 422, 'login'],
      [{ login: '*', otp: '123456' }, 422, 'login'],
      [{ login: `${user.login}%`, otp: '123456' }, 422, 'login'],
      [{ login: user.login, otp: 123456 }, 422, 'otp'],
      [{ login: user.login, otp: '123456', admin: true }, 422, 'admin'],
      [{ login: user.login }, 422, 'otp'],
    ];
    for (const [body, status, field] of cases) {
      const res = await api.post(path, body);
      assertApiError(res, status, 'validation_failed');
      assert.ok(res.body.error.fields[field], `${JSON.stringify(body)} → ${res.text}`);
    }
    assertApiError(await api.post(path, [{ login: user.login }]), 400, 'bad_request');
    assertApiError(await request(ctx.app).post(`/api/v1${path}`).set('Authorization', `Bearer ${(await createTenant(ctx.services)).apiKey}`).send({ login: user.login, otp: '123456' }), 404, 'not_found');
    assertApiError(await api.post('/resources/00000000-0000-4000-8000-000000000000/authenticate', { login: user.login, otp: '123456' }), 404, 'not_found');
    assertApiError(await api.post('/resources/not-a-uuid/authenticate', { login: user.login, otp: '123456' }), 404, 'not_found');
    assertApiError(await request(ctx.app).post(`/api/v1${path}`).send({ login: user.login, otp: '123456' }), 401, 'unauthorized');
    assert.equal((await member()).fail_count, 0, 'nothing was counted');
    assertApiError(await api.post(`/resources/${resource.id}/users/not-a-uuid/unlock`), 404, 'not_found');
    assertApiError(await api.post(`/resources/not-a-uuid/users/${user.id}/unlock`), 404, 'not_found');
  });

  for (const pinPosition of ['before', 'after'] as const) {
    it(`PIN ${pinPosition} the code: only PIN and code in that order pass; a wrong PIN counts as a failure`, async () => {
      const { api, tokenId, auth, member } = await setup({ pinPosition }, { type: 'hotp', counter: 0 });
      assert.equal((await api.put(`/tokens/${tokenId}/pin`, { pin: '4321' })).body.hasPin, true);
      const code = generateHotp(SEED, 0, HOTP);
      const join = (pin: string) => (pinPosition === 'before' ? `${pin}${code}` : `${code}${pin}`);
      const swapped = pinPosition === 'before' ? `${code}4321` : `4321${code}`;
      for (const otp of [code, join('9999'), swapped]) assert.equal((await auth({ otp })).text, REFUSED, otp);
      assert.equal((await member()).fail_count, 3);
      assert.equal((await auth({ otp: join('4321') })).body.result, true);
      assert.equal((await member()).fail_count, 0);
      assert.equal((await api.delete(`/tokens/${tokenId}/pin`)).body.hasPin, false);
      assert.equal((await auth({ otp: generateHotp(SEED, 1, HOTP) })).body.result, true, 'without a PIN the code alone');
    });
  }

  it('with a password alone: true without tokens in a resource not requiring a second factor; false with a token or when required', async () => {
    const s = ctx.services;
    const { tenant, api, auth, path, resource } = await setup({}, null, { password: 'a long passphrase' });
    assert.deepEqual((await auth({ password: 'a long passphrase' })).body, { result: true });
    assert.equal((await auth({ password: 'wrong passphrase' })).text, REFUSED);

    const withToken = await createUser(s, tenant, { password: 'a long passphrase' });
    const resourceId = resource.id;
    await s.users.assign(tenant.actor, resourceId, withToken.id);
    const token = await api.post('/tokens', { type: 'totp', userId: withToken.id, secret: base32Encode(SEED) });
    assert.equal((await api.put(`/resources/${resourceId}/tokens/${token.body.id}`)).status, 204);
    assert.equal((await api.post(path, { login: withToken.login, password: 'a long passphrase' })).text, REFUSED);
    const both = await api.post(path, { login: withToken.login, password: 'a long passphrase', otp: totpNow() });
    assert.deepEqual(both.body, { result: true, token: { serial: token.body.serial, type: 'totp' } });

    await api.patch(`/resources/${resourceId}`, { requireSecondFactor: true });
    assert.equal((await auth({ password: 'a long passphrase' })).text, REFUSED, 'the resource requires a second factor');
  });
  it('challenge: true (two-step sign-in): a right password of a user with a token names the token types; wrong password, no token or locked read as a refusal', async () => {
    const { auth, member, resource, tenant, api } = await setup({ failedAttemptsLimit: 3 }, { type: 'totp' }, { password: 'a long passphrase' });
    const first = await auth({ password: 'a long passphrase', challenge: true });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.body, { result: false, challenge: { types: ['totp'] } });
    assert.equal((await member()).fail_count, 1, 'the password step stays counted until the code proves the user');
    assert.equal((await auth({ otp: totpNow() })).body.result, true);
    assert.equal((await member()).fail_count, 0, 'the code resets the count');

    assert.equal((await auth({ password: 'not the passphrase', challenge: true })).text, REFUSED);
    assertApiError(await auth({ password: 'a long passphrase', otp: '123456', challenge: true }), 422, 'validation_failed');
    assertApiError(await auth({ otp: '123456', challenge: true }), 422, 'validation_failed');
    assertApiError(await auth({ password: 'a long passphrase', challenge: 'yes' }), 422, 'validation_failed');

    // A user without a token: the password alone decides, as without challenge.
    const plain = await createUser(ctx.services, tenant, { password: 'a long passphrase' });
    await ctx.services.users.assign(tenant.actor, resource.id, plain.id);
    const plainAuth = (body: Record<string, unknown>) => api.post(`/resources/${resource.id}/authenticate`, { login: plain.login, ...body });
    assert.deepEqual((await plainAuth({ password: 'a long passphrase', challenge: true })).body, { result: true });

    // Locked (three wrong passwords): the right password is refused like any other refusal.
    for (let i = 0; i < 3; i++) await auth({ password: 'wrong', challenge: true });
    assert.equal((await auth({ password: 'a long passphrase', challenge: true })).text, REFUSED);
  });
});
