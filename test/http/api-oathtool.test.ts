/**
 * Issue 3 acceptance: seeds imported through POST /api/v1/tokens (as hex) accept codes computed by
 * the independent `oathtool` program through POST /resources/{id}/authenticate, in every
 * supported combination, with the replay, look-ahead and resync rules of SPEC §3.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, createUser } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { hotpCode, nowSec, totpCode, type Algorithm } from '../helpers/oathtool';

const ALGORITHMS: Algorithm[] = ['SHA1', 'SHA256', 'SHA512'];
/** The RFC 6238 App. B seed sizes: 20, 32 and 64 bytes. */
const SEED_BYTES: Record<Algorithm, number> = { SHA1: 20, SHA256: 32, SHA512: 64 };

describe('api: oathtool acceptance (SEC-01, SEC-05, SEC-06)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  /** A fresh tenant, resource and user holding one imported token, assigned through the API. */
  async function enrol(body: Record<string, unknown>) {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const api = apiClient(ctx.app, tenant.apiKey);
    const resource = await createResource(s, tenant);
    const user = await createUser(s, tenant);
    assert.equal((await api.put(`/resources/${resource.id}/users/${user.id}`)).status, 204);
    const created = await api.post('/tokens', { userId: user.id, ...body });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.otpauthUri, undefined, 'no URI for an imported seed');
    assert.equal((await api.put(`/resources/${resource.id}/tokens/${created.body.id}`)).status, 204);
    const check = async (otp: string): Promise<boolean> => {
      const res = await api.post(`/resources/${resource.id}/authenticate`, { login: user.login, otp });
      assert.equal(res.status, 200, res.text);
      return res.body.result;
    };
    return { api, token: created.body, check };
  }

  for (const algorithm of ALGORITHMS) {
    for (const digits of [6, 8] as const) {
      for (const period of [30, 60] as const) {
        const type = digits === 6 ? 'totp' : 'hardware';
        it(`TOTP ${algorithm} ${digits} digits ${period} s (${type}): an oathtool code is accepted once; an older one after it is refused`, async () => {
          const hex = randomBytes(SEED_BYTES[algorithm]).toString('hex');
          const { token, check } = await enrol({ type, secret: hex, algorithm, digits, period });
          assert.deepEqual([token.otpKind, token.algorithm, token.digits, token.period], ['totp', algorithm, digits, period]);
          const t = nowSec();
          const code = await totpCode(hex, { algorithm, digits, period, atSec: t });
          assert.equal(code.length, digits);
          assert.equal(await check(code), true, 'current code');
          assert.equal(await check(code), false, 'the same code again (replay)');
          const older = await totpCode(hex, { algorithm, digits, period, atSec: t - period });
          assert.equal(await check(older), false, 'the previous step, inside the window but older than the accepted one');
        });
      }
    }
  }

  const hotpCases: Array<[Algorithm, 6 | 8]> = [['SHA1', 6], ['SHA1', 8], ['SHA256', 6], ['SHA512', 8]];
  for (const [algorithm, digits] of hotpCases) {
    it(`HOTP ${algorithm} ${digits} digits: replay and older refused, 10 ahead accepted, 11 ahead refused, resync at counter 500`, async () => {
      const hex = randomBytes(SEED_BYTES[algorithm]).toString('hex');
      const { api, token, check } = await enrol({ type: 'hardware', secret: hex, algorithm, digits, counter: 0 });
      assert.deepEqual([token.otpKind, token.counter, token.period], ['hotp', 0, null]);
      const at = (counter: number) => hotpCode(hex, { algorithm, digits, counter });

      assert.equal(await check(await at(0)), true, 'counter 0');
      assert.equal(await check(await at(0)), false, 'counter 0 again (replay)');
      // The next expected counter is 1: 1 + 10 is the last one the look-ahead reaches.
      assert.equal(await check(await at(12)), false, '11 ahead of the expected counter');
      assert.equal(await check(await at(11)), true, '10 ahead of the expected counter');
      assert.equal(await check(await at(5)), false, 'older than the last accepted counter');
      assert.equal(await check(await at(12)), true, 'the next counter');

      // SEC-06: far beyond the look-ahead, only two consecutive codes re-align the counter.
      assert.equal(await check(await at(500)), false, 'counter 500 alone is out of reach');
      const notConsecutive = await api.post(`/tokens/${token.id}/resync`, { otp1: await at(500), otp2: await at(502) });
      assertApiError(notConsecutive, 422, 'validation_failed');
      const synced = await api.post(`/tokens/${token.id}/resync`, { otp1: await at(500), otp2: await at(501) });
      assert.equal(synced.status, 200, synced.text);
      assert.equal(synced.body.counter, 502);
      assert.equal(await check(await at(501)), false, 'a code used for the resync cannot be replayed');
      assert.equal(await check(await at(502)), true, 'the code following the resync pair');
    });
  }

  it('TOTP resync from two consecutive codes one hour ahead, then the drift is learned and reset by the API', async () => {
    const hex = randomBytes(20).toString('hex');
    const params = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
    const { api, token, check } = await enrol({ type: 'totp', secret: hex, ...params });
    const t = nowSec();
    const ahead = (steps: number) => totpCode(hex, { ...params, atSec: t + steps * 30 });
    assert.equal(await check(await ahead(120)), false, 'one hour ahead is outside the ±1 step window');
    const synced = await api.post(`/tokens/${token.id}/resync`, { otp1: await ahead(120), otp2: await ahead(121) });
    assert.equal(synced.status, 200, synced.text);
    assert.ok(synced.body.drift === 121 || synced.body.drift === 120, `drift ${synced.body.drift}`);
    assert.equal(await check(await ahead(122)), true, 'the next code of the drifted clock');
    const learned = (await api.get(`/tokens/${token.id}`)).body.drift;
    assert.ok(learned === synced.body.drift + 1 || learned === synced.body.drift, `drift learned on success: ${learned}`);

    const reset = await api.post(`/tokens/${token.id}/reset-drift`);
    assert.equal(reset.status, 200, reset.text);
    assert.equal(reset.body.drift, 0);
  });
});
