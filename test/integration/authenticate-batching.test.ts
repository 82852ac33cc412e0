/**
 * The batched attempt statements (src/validation/attempt.repository.ts): concurrent checks of
 * many users share statements without changing any answer, and the failure limit holds both for
 * gated attempts (OATH-only users: nothing is written before the check) and reserved ones.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, createUser, type TestTenant } from '../helpers/factories';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('12345678901234567890');
const HOTP = { kind: 'hotp', algorithm: 'SHA1', digits: 6 } as const;

describe('validation: batched attempts', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  async function member(tenant: TestTenant, resourceId: string, tokenInput: Record<string, unknown>) {
    const s = ctx.services;
    const user = await createUser(s, tenant);
    await s.users.assign(tenant.actor, resourceId, user.id);
    const created = await s.tokens.create(tenant.actor, { userId: user.id, ...tokenInput });
    await s.tokens.assignToResource(tenant.actor, resourceId, created.token.id);
    return { user, ...created };
  }

  it('answers 40 concurrent checks of 20 users (right and wrong codes) exactly as one by one', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { failedAttemptsLimit: 10 });
    const users = await Promise.all(Array.from({ length: 20 }, () => member(tenant, resource.id, { type: 'hotp', secret: base32Encode(SEED), counter: 0 })));
    const auth = (login: string, otp: string) => s.validation.authenticate(tenant.actor, resource.id, { login, otp });
    const results = await Promise.all(users.flatMap(({ user }, i) => [auth(user.login, generateHotp(SEED, i % 3, HOTP)), auth(user.login, '000000')]));
    assert.deepEqual(results.map((r) => r.result), users.flatMap(() => [true, false]));

    const rows = await s.db('resource_users').where({ resource_id: resource.id }).select('fail_count', 'locked_until');
    assert.equal(rows.length, 20);
    // Each user: one success (resets) and one wrong code (counts), in either order.
    for (const row of rows) assert.ok(row.fail_count <= 1 && row.locked_until === null, JSON.stringify(row));
    const events = await s.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'authenticate' }).select('result', 'details');
    assert.equal(events.filter((e) => e.result === 'success').length, 20);
    assert.equal(events.filter((e) => e.details.reason === 'wrong_code').length, 20);
  });

  it('a gated user over the limit is refused as locked and counts nothing more, even with the right code', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { failedAttemptsLimit: 3, lockMinutes: 0 });
    const { user } = await member(tenant, resource.id, { type: 'hotp', secret: base32Encode(SEED), counter: 0 });
    const auth = (otp: string) => s.validation.authenticate(tenant.actor, resource.id, { login: user.login, otp });
    const wrong = await Promise.all(Array.from({ length: 30 }, () => auth('999999')));
    assert.ok(wrong.every((r) => r.result === false));
    const row = await s.db('resource_users').where({ resource_id: resource.id, user_id: user.id }).first();
    assert.equal(row.fail_count, 3);
    assert.equal(row.locked_until, Infinity, 'lockMinutes 0 locks until an admin unlocks');
    assert.deepEqual(await auth(generateHotp(SEED, 0, HOTP)), { result: false });
    const token = await s.db('tokens').where({ user_id: user.id }).first('hotp_counter');
    assert.equal(token.hotp_counter, 0, 'a refused attempt spends no code');
    await s.users.unlock(tenant.actor, resource.id, user.id);
    assert.equal((await auth(generateHotp(SEED, 0, HOTP))).result, true);
  });

  it('reserves first for tokens whose checks consume a code (backup codes): the limit holds under concurrency', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { failedAttemptsLimit: 5, lockMinutes: 5 });
    const { user, token, backupCodes } = await member(tenant, resource.id, { type: 'backup_codes' });
    const auth = (otp: string) => s.validation.authenticate(tenant.actor, resource.id, { login: user.login, otp });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => auth(`AAAA-BBBB-CCCC-${String(i).padStart(4, 'D')}`)));
    assert.ok(results.every((r) => r.result === false));
    const row = await s.db('resource_users').where({ resource_id: resource.id, user_id: user.id }).first();
    assert.equal(row.fail_count, 5);
    assert.ok(row.locked_until > new Date());
    assert.deepEqual(await auth(backupCodes![0]), { result: false }, 'locked: even a right code is refused');
    const [{ count }] = await s.db('token_backup_codes').where({ token_id: token.id }).whereNull('used_at').count<{ count: string }[]>('* as count');
    assert.equal(Number(count), 10, 'no code was consumed while locked');
  });
});
