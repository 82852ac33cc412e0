/**
 * SEC-25 durability: replay and lock state live in PostgreSQL, so a restart (services closed,
 * new ones built, as a redeploy does) forgets nothing: a spent code stays spent, a locked user
 * stays locked, and the failure count is kept.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext } from '../helpers/context';
import { createResource, createTenant, createUser } from '../helpers/factories';
import { base32Encode, generateHotp, generateTotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const TOTP = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;
const HOTP = { kind: 'hotp', algorithm: 'SHA1', digits: 6 } as const;

describe('SEC-25 replay and lock state survive a restart', () => {
  it('SEC-25 after a restart the same TOTP and HOTP codes are still refused, the locked user is still locked, a failure count is kept', async () => {
    const first = await createTestContext();
    const s = first.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { failedAttemptsLimit: 3, lockMinutes: 60 });
    const member = async (type: 'totp' | 'hotp') => {
      const user = await createUser(s, tenant);
      await s.users.assign(tenant.actor, resource.id, user.id);
      const { token } = await s.tokens.create(tenant.actor, { userId: user.id, type, secret: base32Encode(SEED), ...(type === 'hotp' ? { counter: 0 } : {}) });
      await s.tokens.assignToResource(tenant.actor, resource.id, token.id);
      return user;
    };
    const [totpUser, hotpUser, lockedUser, countedUser] = await Promise.all([member('totp'), member('hotp'), member('hotp'), member('hotp')]);
    const totpCode = generateTotp(SEED, Date.now(), TOTP);
    const hotpCode = generateHotp(SEED, 0, HOTP);
    let check = (login: string, otp: string) => first.services.validation.authenticate(tenant.actor, resource.id, { login, otp });
    assert.equal((await check(totpUser.login, totpCode)).result, true);
    assert.equal((await check(hotpUser.login, hotpCode)).result, true);
    for (let i = 0; i < 3; i++) assert.equal((await check(lockedUser.login, '000000')).result, false);
    assert.equal((await check(countedUser.login, '000000')).result, false);
    await first.close();

    // The "restart": a new composition root on the same database, nothing carried over in memory.
    const second = await createTestContext();
    try {
      check = (login, otp) => second.services.validation.authenticate(tenant.actor, resource.id, { login, otp });
      assert.equal((await check(totpUser.login, totpCode)).result, false, 'the spent TOTP step stays spent');
      assert.equal((await check(hotpUser.login, hotpCode)).result, false, 'the spent HOTP counter stays spent');
      assert.equal((await check(lockedUser.login, generateHotp(SEED, 0, HOTP))).result, false, 'still locked: a right code is refused');
      const locked = await second.services.db('resource_users').where({ resource_id: resource.id, user_id: lockedUser.id }).first();
      assert.ok(locked.locked_until > new Date(Date.now() + 50 * 60_000), 'the lock keeps its end time');
      // One failure before the restart + two after reach the limit of 3.
      for (let i = 0; i < 2; i++) assert.equal((await check(countedUser.login, '000000')).result, false);
      assert.equal((await check(countedUser.login, generateHotp(SEED, 0, HOTP))).result, false, 'the count survived: now locked');
    } finally {
      await second.close();
    }
  });
});
