/**
 * Locks and windows end to end (SEC-04, SEC-08): a locked user is refused on every path (backup
 * codes and portal resync here; the API, portal sign-in and challenges have their own files), the
 * lock ends after the resource's lockMinutes (the stored lock time is moved back, no waiting),
 * and the resource's totpWindow is what the validation API accepts, with RFC 6238 codes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestContext, type TestContext } from '../helpers/context';
import { TEST_PASSWORD } from '../helpers/factories';
import { postForm } from '../helpers/admin-agent';
import { createApiToken, createPortalMember, createPortalWorld, enterLogin, enterSecondFactor, enterSecret, visitor, type PortalWorld } from '../helpers/portal';
import { base32Encode, generateHotp, generateTotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const TOTP = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;
const HOTP = { kind: 'hotp', algorithm: 'SHA1', digits: 6 } as const;

/** Waits while the current 30 s step has under 3 s left, so codes computed now are judged in the same step. */
async function awayFromStepEdge(): Promise<number> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 3_000) await sleep(left + 50);
  return Date.now();
}

describe('SEC-08 locks and SEC-04 windows, end to end', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const authenticate = (w: PortalWorld, login: string, otp: string) => w.api.post(`/resources/${w.portal.resource.id}/authenticate`, { login, otp });
  const result = async (w: PortalWorld, login: string, otp: string) => {
    const res = await authenticate(w, login, otp);
    assert.equal(res.status, 200, res.text);
    return res.body.result as boolean;
  };
  const lock = (w: PortalWorld, userId: string, until = `now() + interval '1 hour'`) =>
    ctx.services.db('resource_users').where({ resource_id: w.portal.resource.id, user_id: userId }).update({ fail_count: 3, locked_until: ctx.services.db.raw(until) });

  it('SEC-08 a locked user is refused with a right backup code, and the code stays unused', async () => {
    const w = await createPortalWorld(ctx, { resource: { failedAttemptsLimit: 3 } });
    const user = await createPortalMember(ctx, w);
    const created = await w.api.post('/tokens', { userId: user.id, type: 'backup_codes' });
    assert.equal(created.status, 201, created.text);
    await w.api.put(`/resources/${w.portal.resource.id}/tokens/${created.body.id}`);
    const codes: string[] = created.body.backupCodes;
    await lock(w, user.id);
    assert.equal(await result(w, user.login, codes[0]), false);
    const unused = await ctx.services.db('token_backup_codes').where({ token_id: created.body.id }).whereNull('used_at');
    assert.equal(unused.length, codes.length, 'no code consumed');
    await ctx.services.users.unlock(w.tenant.actor, w.portal.resource.id, user.id);
    assert.equal(await result(w, user.login, codes[0]), true, 'control: the same code works once unlocked');
  });

  it('SEC-08 a locked user is refused on resync in the portal: the right pair changes nothing', async () => {
    const w = await createPortalWorld(ctx, { allowedActions: ['sync_token'], resource: { failedAttemptsLimit: 3 } });
    const user = await createPortalMember(ctx, w, { password: TEST_PASSWORD });
    const token = await createApiToken(w, { userId: user.id, type: 'hotp', secret: base32Encode(SEED), counter: 0 }, w.portal.resource.id);
    const agent = visitor(ctx.app);
    await enterLogin(agent, w.portal, user.login);
    await enterSecret(agent, w.portal, TEST_PASSWORD);
    assert.equal((await enterSecondFactor(agent, w.portal, generateHotp(SEED, 0, HOTP))).headers.location, w.portal.base, 'signed in');
    await lock(w, user.id);
    const url = `${w.portal.base}actions/sync_token`;
    const res = await postForm(agent, url, url, { tokenId: token.id, code1: generateHotp(SEED, 200, HOTP), code2: generateHotp(SEED, 201, HOTP) });
    assert.equal(res.status, 422, res.text.slice(0, 300));
    const row = await ctx.services.db('tokens').where({ id: token.id }).first('hotp_counter');
    assert.equal(row.hotp_counter, 1, 'the counter did not move');
    const [event] = await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'token.resync' });
    assert.equal(event.details.reason, 'locked');
  });

  it('SEC-08 the lock ends after lockMinutes: refused while locked, accepted once the lock time has passed, with a fresh count', async () => {
    const w = await createPortalWorld(ctx, { resource: { failedAttemptsLimit: 3, lockMinutes: 5 } });
    const user = await createPortalMember(ctx, w);
    await createApiToken(w, { userId: user.id, type: 'hotp', secret: base32Encode(SEED), counter: 0 }, w.portal.resource.id);
    for (let i = 0; i < 3; i++) assert.equal(await result(w, user.login, '000000'), false);
    const locked = await ctx.services.db('resource_users').where({ resource_id: w.portal.resource.id, user_id: user.id }).first();
    const minutes = (locked.locked_until.getTime() - Date.now()) / 60_000;
    assert.ok(minutes > 4.9 && minutes <= 5, `locked for lockMinutes (5), got ${minutes.toFixed(2)}`);
    assert.equal(await result(w, user.login, generateHotp(SEED, 0, HOTP)), false, 'locked: the right code is refused');
    // Five minutes later (moved, not waited): still locked one second before, free after.
    await lock(w, user.id, `now() + interval '1 second'`);
    assert.equal(await result(w, user.login, generateHotp(SEED, 0, HOTP)), false, 'still locked until the time');
    await lock(w, user.id, `now() - interval '1 second'`);
    assert.equal(await result(w, user.login, generateHotp(SEED, 0, HOTP)), true, 'the lock has ended');
    const after = await ctx.services.db('resource_users').where({ resource_id: w.portal.resource.id, user_id: user.id }).first();
    assert.deepEqual([after.fail_count, after.locked_until], [0, null]);
  });

  for (const [window, accepted, refused] of [
    [2, [-2, -1, 0, 1, 2], [-3, 3]],
    [0, [0], [-1, 1]],
  ] as const) {
    it(`SEC-04 totpWindow ${window} through the API: accepts steps ${accepted.join(', ')} and refuses ${refused.join(', ')}`, async () => {
      const w = await createPortalWorld(ctx, { resource: { totpWindow: window, failedAttemptsLimit: 10 } });
      // One user per offset: a success claims its step (SEC-05) and learns drift (SEC-04), which
      // would change what the next offset means.
      const check = async (offset: number) => {
        const user = await createPortalMember(ctx, w);
        await createApiToken(w, { userId: user.id, type: 'totp', secret: base32Encode(SEED) }, w.portal.resource.id);
        const now = await awayFromStepEdge();
        return result(w, user.login, generateTotp(SEED, now + offset * 30_000, TOTP));
      };
      for (const offset of refused) assert.equal(await check(offset), false, `step ${offset} refused`);
      for (const offset of accepted) assert.equal(await check(offset), true, `step ${offset} accepted`);
    });
  }
});
