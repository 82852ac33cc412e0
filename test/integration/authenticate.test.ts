import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, createUser } from '../helpers/factories';
import { base32Encode, generateHotp, generateTotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('12345678901234567890');

describe('validation: authenticate (SPEC §3)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  async function setup(resourceInput: Record<string, unknown> = {}, tokenInput: Record<string, unknown> = { type: 'totp' }) {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, resourceInput);
    const user = await createUser(s, tenant, { password: 'a long passphrase' });
    await s.users.assign(tenant.actor, resource.id, user.id);
    const { token } = await s.tokens.create(tenant.actor, { userId: user.id, secret: base32Encode(SEED), ...tokenInput });
    await s.tokens.assignToResource(tenant.actor, resource.id, token.id);
    return { tenant, resource, user, token, auth: (body: Record<string, unknown>) => s.validation.authenticate(tenant.actor, resource.id, { login: user.login, ...body }) };
  }

  it('accepts a current TOTP code once (SEC-05) and audits every check (SEC-23)', async () => {
    const { auth, tenant, resource, user, token } = await setup();
    const code = generateTotp(SEED, Date.now(), { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 });
    assert.deepEqual((await auth({ otp: code })).result, true);
    assert.deepEqual(await auth({ otp: code }), { result: false });
    const events = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'authenticate' }).orderBy('id');
    assert.deepEqual(events.map((e) => [e.result, e.details.reason]), [['success', 'ok'], ['failure', 'wrong_code']]);
    for (const e of events) {
      assert.deepEqual([e.actor_type, e.actor_id, e.target_type, e.target_id, e.resource_id], [tenant.actor.type, tenant.actor.id, 'user', user.id, resource.id]);
    }
    assert.deepEqual(events[0].details, { login: user.login, reason: 'ok', token: token.serial, tokenType: 'totp' });
    assert.deepEqual(events[1].details, { login: user.login, reason: 'wrong_code' });
    assert.ok(!JSON.stringify(events).includes(code), 'codes are never logged');
  });

  it('gives exactly one success for 50 concurrent identical codes', async () => {
    const { auth } = await setup({ failedAttemptsLimit: 10 });
    const code = generateTotp(SEED, Date.now(), { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 });
    const results = await Promise.all(Array.from({ length: 50 }, () => auth({ otp: code })));
    assert.equal(results.filter((r) => r.result).length, 1);
  });

  it('counts exactly the limit of 100 concurrent wrong codes, then locks even a right code (SEC-07)', async () => {
    const { auth, tenant, resource, user } = await setup({ failedAttemptsLimit: 5, lockMinutes: 5 });
    const results = await Promise.all(Array.from({ length: 100 }, () => auth({ otp: '000000' })));
    assert.ok(results.every((r) => r.result === false));
    const member = await ctx.services.db('resource_users').where({ resource_id: resource.id, user_id: user.id }).first();
    assert.equal(member.fail_count, 5);
    assert.ok(member.locked_until > new Date());
    const code = generateTotp(SEED, Date.now(), { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 });
    assert.deepEqual(await auth({ otp: code }), { result: false });
    await ctx.services.users.unlock(tenant.actor, resource.id, user.id);
    assert.equal((await auth({ otp: code })).result, true);
  });

  it('tells the user of a lock once: at the failure that locks, and at the next refusal when a lock was left untold', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { failedAttemptsLimit: 3, lockMinutes: 5 });
    const user = await createUser(s, tenant, { email: `${tenant.tenantId.slice(0, 8)}-locked@example.test` });
    await s.users.assign(tenant.actor, resource.id, user.id);
    const { token } = await s.tokens.create(tenant.actor, { userId: user.id, secret: base32Encode(SEED), type: 'totp' });
    await s.tokens.assignToResource(tenant.actor, resource.id, token.id);
    const wrong = () => s.validation.authenticate(tenant.actor, resource.id, { login: user.login, otp: '000000' });
    const notices = async () => ({
      emails: (await s.db('messages').where({ tenant_id: tenant.tenantId, recipient: user.email }).where('subject', 'like', '%is locked')).length,
      audited: (await s.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'user.lock.notified', target_id: user.id })).length,
    });

    await Promise.all(Array.from({ length: 3 }, wrong));
    assert.deepEqual(await notices(), { emails: 1, audited: 1 }, 'the locking failure tells');
    await wrong();
    await wrong();
    assert.deepEqual(await notices(), { emails: 1, audited: 1 }, 'refusals during the same lock do not tell again');

    // A lock whose notice never went out (the process stopped right after the locking statement).
    await s.db('resource_users').where({ tenant_id: tenant.tenantId, resource_id: resource.id, user_id: user.id }).update({ lock_notified_until: null });
    await wrong();
    await wrong();
    assert.deepEqual(await notices(), { emails: 2, audited: 2 }, 'the next refusal finds it untold and tells, once');
  });

  it('accepts HOTP 10 ahead and refuses 11 ahead (SEC-06)', async () => {
    const { auth } = await setup({}, { type: 'hotp', counter: 0 });
    const params = { kind: 'hotp', algorithm: 'SHA1', digits: 6 } as const;
    assert.equal((await auth({ otp: generateHotp(SEED, 11, params) })).result, false);
    assert.equal((await auth({ otp: generateHotp(SEED, 10, params) })).result, true);
    assert.equal((await auth({ otp: generateHotp(SEED, 5, params) })).result, false, 'older than the last accepted');
  });

  it('checks PIN before the code and the password when sent', async () => {
    const { auth, tenant, token } = await setup();
    await ctx.services.tokens.setPin(tenant.actor, token.id, { pin: '4321' });
    const params = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;
    const code = generateTotp(SEED, Date.now(), params);
    assert.equal((await auth({ otp: `9999${code}` })).result, false);
    assert.equal((await auth({ otp: code })).result, false);
    assert.equal((await auth({ otp: `4321${code}`, password: 'wrong password' })).result, false);
    assert.equal((await auth({ otp: `4321${code}`, password: 'a long passphrase' })).result, true);
  });

  it('answers the same for unknown, unassigned and blocked users, and refuses wildcards (SEC-21, SEC-22)', async () => {
    const { tenant, resource, user } = await setup();
    const s = ctx.services;
    const other = await createUser(s, tenant);
    assert.deepEqual(await s.validation.authenticate(tenant.actor, resource.id, { login: 'nobody', otp: '123456' }), { result: false });
    assert.deepEqual(await s.validation.authenticate(tenant.actor, resource.id, { login: other.login, otp: '123456' }), { result: false });
    await s.users.block(tenant.actor, user.id);
    const code = generateTotp(SEED, Date.now(), { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 });
    assert.deepEqual(await s.validation.authenticate(tenant.actor, resource.id, { login: user.login, otp: code }), { result: false });
    for (const login of ['', '   ', '*', 'a*', '%']) {
      await assert.rejects(s.validation.authenticate(tenant.actor, resource.id, { login, otp: '123456' }), /Some fields/);
    }
  });
});
