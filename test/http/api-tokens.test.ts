/** /api/v1/tokens and token assignment to resources, through HTTP (SPEC §2 Token, §3). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, createUser, type TestTenant } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { base32Encode, generateHotp, generateTotp } from '../../src/otp/otp-engine';

const TOKEN_KEYS = ['algorithm', 'counter', 'createdAt', 'digits', 'drift', 'enabled', 'failCount', 'hasPin', 'id', 'lastUsedAt', 'name', 'otpKind', 'period', 'serial', 'type', 'updatedAt', 'userId'];
const TOTP = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;

describe('api: tokens', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  async function setup() {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const resource = await createResource(ctx.services, tenant);
    const user = await createUser(ctx.services, tenant);
    await ctx.services.users.assign(tenant.actor, resource.id, user.id);
    return { tenant, api, resource, user };
  }

  /** Every table where a seed could end up, as one text (what a plain-text dump would show). */
  async function dump(): Promise<string> {
    const parts = await Promise.all(['tokens', 'audit_events', 'messages', 'token_backup_codes'].map((t) => ctx.services.db.raw(`SELECT coalesce(string_agg(row_to_json(t)::text, ''), '') AS s FROM ${t} t`)));
    return parts.map((p) => p.rows[0].s as string).join('\n');
  }

  it('creates a TOTP token with a generated seed: the otpauth URI only in the 201, never the seed afterwards (SEC-03)', async () => {
    const { api, user } = await setup();
    const res = await api.post('/tokens', { type: 'totp', userId: user.id, name: 'Phone' });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), [...TOKEN_KEYS, 'otpauthUri'].sort());
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers.location, `/api/v1/tokens/${res.body.id}`);
    assert.deepEqual({ ...res.body, id: 0, serial: 0, createdAt: 0, updatedAt: 0, otpauthUri: 0 }, {
      id: 0, serial: 0, type: 'totp', name: 'Phone', enabled: true, userId: user.id, otpKind: 'totp', algorithm: 'SHA1', digits: 6, period: 30,
      counter: null, drift: 0, hasPin: false, failCount: 0, lastUsedAt: null, createdAt: 0, updatedAt: 0, otpauthUri: 0,
    });
    const uri = new URL(res.body.otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    const secret = uri.searchParams.get('secret')!;
    assert.match(secret, /^[A-Z2-7]{32}$/, '160-bit seed (SEC-02)');

    const got = await api.get(`/tokens/${res.body.id}`);
    assert.deepEqual(Object.keys(got.body).sort(), TOKEN_KEYS);
    const list = await api.get('/tokens');
    for (const text of [got.text, list.text, (await api.get(`/tokens/${res.body.id}/resources`)).text]) {
      assert.ok(!text.includes(secret) && !text.includes('otpauth'), text);
    }
    assert.ok(!(await dump()).includes(secret), 'the generated seed is not stored in clear');
  });

  it('SEC-03 seeds at rest: no base32 or hex form of any seed, and no backup code, in tokens, audit_events, messages or token_backup_codes', async () => {
    const { api, user } = await setup();
    const seeds = [randomBytes(20), randomBytes(32), randomBytes(64)];
    const b32 = await api.post('/tokens', { type: 'totp', userId: user.id, secret: base32Encode(seeds[0]) });
    const hex = await api.post('/tokens', { type: 'hardware', secret: seeds[1].toString('hex'), algorithm: 'SHA256', digits: 8, period: 60 });
    const hexUpper = await api.post('/tokens', { type: 'hotp', secret: `hex:${seeds[2].toString('hex').toUpperCase()}`, algorithm: 'SHA512', counter: 3 });
    const backup = await api.post('/tokens', { type: 'backup_codes', userId: user.id });
    for (const res of [b32, hex, hexUpper, backup]) assert.equal(res.status, 201, res.text);
    assert.equal(b32.body.otpauthUri, undefined, 'no URI for an imported seed');
    assert.deepEqual([hexUpper.body.otpKind, hexUpper.body.counter], ['hotp', 3]);
    const codes: string[] = backup.body.backupCodes;
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    assert.equal(backup.body.otpauthUri, undefined);
    assert.equal((await api.get(`/tokens/${backup.body.id}`)).body.backupCodes, undefined, 'shown once');

    const text = await dump();
    const forms = seeds.flatMap((s) => [base32Encode(s), base32Encode(s).toLowerCase(), s.toString('hex'), s.toString('hex').toUpperCase(), s.toString('base64')]);
    for (const form of forms) assert.ok(!text.includes(form), `a seed appears in clear: ${form.slice(0, 8)}...`);
    for (const code of codes) {
      assert.ok(!text.includes(code) && !text.includes(code.replace(/-/g, '')), 'a backup code appears in clear');
    }
    const row = await ctx.services.db('tokens').where({ id: hex.body.id }).first();
    assert.ok(row.seed_sealed && row.seed_key_id, 'sealed, with its key id');
  });

  it('refuses bad creations with field messages: short seed, missing secret, unknown field, foreign or missing owner, duplicate serial', async () => {
    const { api, user } = await setup();
    const other = await createTenant(ctx.services);
    const otherUser = await createUser(ctx.services, other);
    const short = await api.post('/tokens', { type: 'hardware', secret: randomBytes(15).toString('hex') });
    assertApiError(short, 422, 'validation_failed');
    assert.match(short.body.error.fields.secret, /at least 16 bytes/);
    assert.ok((await api.post('/tokens', { type: 'hardware' })).body.error.fields.secret);
    assert.ok((await api.post('/tokens', { type: 'totp', seed: 'AAAA' })).body.error.fields.seed);
    assert.ok((await api.post('/tokens', { type: 'totp', digits: 7 })).body.error.fields.digits);
    assert.ok((await api.post('/tokens', { type: 'webauthn' })).body.error.fields.type);
    assert.ok((await api.post('/tokens', { type: 'hardware', secret: randomBytes(20).toString('hex'), period: 30, counter: 1 })).body.error.fields.counter);
    assert.ok((await api.post('/tokens', { type: 'backup_codes' })).body.error.fields.userId);
    assertApiError(await api.post('/tokens', { type: 'totp', userId: otherUser.id }), 404, 'not_found');
    assert.equal((await api.post('/tokens', { type: 'totp', serial: 'HW-1', userId: user.id })).status, 201);
    const dup = await api.post('/tokens', { type: 'totp', serial: 'hw-1' });
    assertApiError(dup, 409, 'conflict');
    assert.ok(dup.body.error.fields.serial);
  });

  it('reads a hex seed as hex even without the digits 0, 1, 8 and 9 (was decoded as base32)', async () => {
    const { api } = await setup();
    const hex = 'abcdef234567abcdef234567abcdef234567abcd';
    const created = await api.post('/tokens', { type: 'hardware', secret: hex, period: 30 });
    assert.equal(created.status, 201, created.text);
    const code = generateTotp(Buffer.from(hex, 'hex'), Date.now(), TOTP);
    assert.deepEqual((await api.post(`/tokens/${created.body.id}/verify`, { otp: code })).body, { result: true });
  });

  it('lists with search, type, status and owner filters, and paging', async () => {
    const { api, user } = await setup();
    const seed = () => randomBytes(20).toString('hex');
    await api.post('/tokens', { type: 'totp', userId: user.id, name: 'Alpha phone' });
    const hotp = await api.post('/tokens', { type: 'hotp', userId: user.id, name: 'Beta key' });
    await api.post('/tokens', { type: 'hardware', serial: 'YK-0001', secret: seed() });
    await api.post('/tokens', { type: 'hardware', serial: 'YK-0002', secret: seed() });
    await api.patch(`/tokens/${hotp.body.id}`, { enabled: false });
    const q = async (query: string) => (await api.get(`/tokens?${query}`)).body;
    assert.equal((await q('')).total, 4);
    assert.deepEqual((await q('q=alpha')).items.map((t: { name: string }) => t.name), ['Alpha phone']);
    assert.equal((await q(`q=${encodeURIComponent(user.login)}`)).total, 2, 'search by owner login');
    assert.equal((await q('type=hardware')).total, 2);
    assert.equal((await q('status=stock')).total, 2);
    assert.deepEqual((await q('status=disabled')).items.map((t: { id: string }) => t.id), [hotp.body.id]);
    assert.equal((await q('status=enabled')).total, 3);
    assert.equal((await q(`userId=${user.id}`)).total, 2);
    assert.equal((await q('type=&status=')).total, 4, 'blank filters mean any');
    const paged = await q('type=hardware&perPage=1&page=2');
    assert.deepEqual([paged.total, paged.page, paged.perPage, paged.items.length], [2, 2, 1, 1]);
    assert.deepEqual(Object.keys(paged.items[0]).sort(), TOKEN_KEYS);
    for (const bad of ['type=yubikey', 'status=lost', 'userId=nobody', 'type=totp&type=hotp']) {
      assertApiError(await api.get(`/tokens?${bad}`), 422, 'validation_failed');
    }
    const other = await createTenant(ctx.services);
    assert.equal((await apiClient(ctx.app, other.apiKey).get('/tokens')).body.total, 0, 'SEC-20 another tenant sees none');
  });

  it('SEC-15 PATCH disables and re-enables a token; a changed owner drops its resources, the same owner keeps them; DELETE removes it', async () => {
    const { api, user, resource, tenant } = await setup();
    const created = await api.post('/tokens', { type: 'hotp', userId: user.id, secret: base32Encode(randomBytes(20)) });
    const id = created.body.id;
    assert.equal((await api.put(`/resources/${resource.id}/tokens/${id}`)).status, 204);
    const disabled = await api.patch(`/tokens/${id}`, { enabled: false, name: 'Spare' });
    assert.deepEqual([disabled.status, disabled.body.enabled, disabled.body.name], [200, false, 'Spare']);
    assert.equal((await api.patch(`/tokens/${id}`, { enabled: true })).body.enabled, true);

    await api.patch(`/tokens/${id}`, { userId: user.id });
    assert.deepEqual((await api.get(`/tokens/${id}/resources`)).body.items, [{ id: resource.id, name: resource.name }], 'same owner: still assigned');
    const other = await createUser(ctx.services, tenant);
    await api.patch(`/tokens/${id}`, { userId: other.id });
    assert.deepEqual((await api.get(`/tokens/${id}/resources`)).body.items, [], 'new owner: unassigned');
    assertApiError(await api.patch(`/tokens/${id}`, { secret: 'AAAA' }), 422, 'validation_failed');

    assert.equal((await api.delete(`/tokens/${id}`)).status, 204);
    assertApiError(await api.get(`/tokens/${id}`), 404, 'not_found');
    assertApiError(await api.delete(`/tokens/${id}`), 404, 'not_found');
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, target_id: id }).orderBy('id');
    assert.deepEqual(audit.map((e) => e.action).slice(-1), ['token.delete']);
  });

  it('assignment: the owner must be assigned (422), a stock token cannot be (422), the limit holds (409), idempotent, unassign 204', async () => {
    const { api, user, resource, tenant } = await setup();
    const mk = async (userId?: string) => (await api.post('/tokens', { type: 'totp', ...(userId ? { userId } : {}) })).body.id as string;
    const stranger = await createUser(ctx.services, tenant);
    const notAssigned = await api.put(`/resources/${resource.id}/tokens/${await mk(stranger.id)}`);
    assertApiError(notAssigned, 422, 'validation_failed');
    assert.match(notAssigned.body.error.message, /owner is not assigned to this resource/);
    assertApiError(await api.put(`/resources/${resource.id}/tokens/${await mk()}`), 422, 'validation_failed');

    const first = await mk(user.id);
    assert.equal((await api.put(`/resources/${resource.id}/tokens/${first}`)).status, 204);
    assert.equal((await api.put(`/resources/${resource.id}/tokens/${first}`)).status, 204, 'idempotent');
    const limit = await api.put(`/resources/${resource.id}/tokens/${await mk(user.id)}`);
    assertApiError(limit, 409, 'conflict');
    assert.match(limit.body.error.message, /maximum of 1 token/);
    assert.deepEqual((await api.get(`/tokens/${first}/resources`)).body.items, [{ id: resource.id, name: resource.name }]);

    assert.equal((await api.delete(`/resources/${resource.id}/tokens/${first}`)).status, 204);
    assertApiError(await api.delete(`/resources/${resource.id}/tokens/${first}`), 404, 'not_found');
    assertApiError(await api.delete(`/resources/not-a-uuid/tokens/${first}`), 404, 'not_found');
    assertApiError(await api.put(`/resources/${resource.id}/tokens/not-a-uuid`), 404, 'not_found');
  });

  it('verify answers {result} once per code, counts wrong codes on the token, refuses a disabled token; PIN, drift and malformed bodies', async () => {
    const { api, user } = await setup();
    const seed = randomBytes(20);
    const created = await api.post('/tokens', { type: 'hotp', userId: user.id, secret: base32Encode(seed) });
    const id = created.body.id;
    const code = (n: number) => generateHotp(seed, n, { algorithm: 'SHA1', digits: 6 });
    const verify = (otp: unknown) => api.post(`/tokens/${id}/verify`, { otp });
    assert.deepEqual((await verify(code(0))).body, { result: true });
    assert.deepEqual((await verify(code(0))).body, { result: false });
    const after = await api.get(`/tokens/${id}`);
    assert.deepEqual([after.body.counter, after.body.failCount, typeof after.body.lastUsedAt], [1, 1, 'string']);
    await api.patch(`/tokens/${id}`, { enabled: false });
    assert.deepEqual((await verify(code(1))).body, { result: false }, 'SEC-15 disabled');
    assertApiError(await verify(123456), 422, 'validation_failed');
    assertApiError(await api.post(`/tokens/${id}/verify`, { otp: code(1), pin: '1' }), 422, 'validation_failed');
    assertApiError(await api.post(`/tokens/${id}/resync`, { otp1: 'abc', otp2: code(2) }), 422, 'validation_failed');

    assertApiError(await api.put(`/tokens/${id}/pin`, { pin: '12' }), 422, 'validation_failed');
    assertApiError(await api.put(`/tokens/${id}/pin`, { pin: 1234 }), 422, 'validation_failed');
    assert.equal((await api.put(`/tokens/${id}/pin`, { pin: '123456' })).body.hasPin, true);
    assert.ok(!JSON.stringify(await ctx.services.db('audit_events').where({ target_id: id })).includes('123456'), 'PIN never logged');
    assert.equal((await api.delete(`/tokens/${id}/pin`)).body.hasPin, false);
    assert.equal((await api.post(`/tokens/${id}/reset-drift`)).body.drift, 0);
  });

  it('SEC-06 resync is throttled per token: after 10 attempts in the window even the right pair gets 429, other tokens unaffected', async () => {
    const { api, user } = await setup();
    const seed = randomBytes(20);
    const code = (n: number) => generateHotp(seed, n, { algorithm: 'SHA1', digits: 6 });
    const id = (await api.post('/tokens', { type: 'hotp', userId: user.id, secret: base32Encode(seed) })).body.id;
    const other = (await api.post('/tokens', { type: 'hotp', userId: user.id, secret: base32Encode(seed) })).body.id;
    for (let i = 0; i < 10; i++) assertApiError(await api.post(`/tokens/${id}/resync`, { otp1: code(700), otp2: code(702) }), 422, 'validation_failed');
    const refused = await api.post(`/tokens/${id}/resync`, { otp1: code(700), otp2: code(701) });
    assertApiError(refused, 429, 'rate_limited');
    assert.match(refused.body.error.message, /Too many attempts/);
    assert.equal((await api.get(`/tokens/${id}`)).body.counter, 0, 'nothing changed while throttled');
    assert.equal((await api.post(`/tokens/${other}/resync`, { otp1: code(700), otp2: code(701) })).status, 200, 'the limit is per token');
  });

  it('SEC-20 another tenant\'s key gets 404 for every token route and assignment; no key gets 401', async () => {
    const { api, user, resource } = await setup();
    const token = (await api.post('/tokens', { type: 'totp', userId: user.id })).body.id;
    assert.equal((await api.put(`/resources/${resource.id}/tokens/${token}`)).status, 204);
    const other: TestTenant = await createTenant(ctx.services);
    const foreign = apiClient(ctx.app, other.apiKey);
    const ownResource = await createResource(ctx.services, other);
    const ownToken = (await foreign.post('/tokens', { type: 'totp' })).body.id;
    const code = generateTotp(randomBytes(20), Date.now(), TOTP);
    const attempts = [
      foreign.get(`/tokens/${token}`), foreign.patch(`/tokens/${token}`, { enabled: false }), foreign.delete(`/tokens/${token}`),
      foreign.put(`/tokens/${token}/pin`, { pin: '1234' }), foreign.delete(`/tokens/${token}/pin`), foreign.post(`/tokens/${token}/resync`, { otp1: code, otp2: code }),
      foreign.post(`/tokens/${token}/reset-drift`), foreign.post(`/tokens/${token}/verify`, { otp: code }), foreign.get(`/tokens/${token}/resources`),
      foreign.put(`/resources/${resource.id}/tokens/${ownToken}`), foreign.put(`/resources/${ownResource.id}/tokens/${token}`), foreign.delete(`/resources/${resource.id}/tokens/${token}`),
      foreign.post(`/resources/${resource.id}/users/${user.id}/unlock`), foreign.post(`/resources/${resource.id}/authenticate`, { login: user.login, otp: code }),
      foreign.post('/tokens', { type: 'totp', userId: user.id }),
    ];
    for (const res of await Promise.all(attempts)) assertApiError(res, 404, 'not_found');
    const still = await api.get(`/tokens/${token}`);
    assert.deepEqual([still.body.enabled, still.body.hasPin], [true, false]);
    assert.equal((await api.get(`/tokens/${token}/resources`)).body.items.length, 1);
    for (const path of ['/tokens', `/tokens/${token}`]) assertApiError(await request(ctx.app).get(`/api/v1${path}`), 401, 'unauthorized');
  });
});
