/** POST /api/v1/resources/{id}/authenticate/batch: many checks in one request, each as if alone. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createResource, createUser } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const HOTP = { kind: 'hotp', algorithm: 'SHA1', digits: 6 } as const;
const hotp = (counter: number) => generateHotp(SEED, counter, HOTP);

describe('api: authenticate batch', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  /** A tenant and a resource with `n` users, each with an HOTP token on SEED in the resource. */
  async function setup(n: number, resourceInput: Record<string, unknown> = {}) {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const api = apiClient(ctx.app, tenant.apiKey);
    const resource = await createResource(s, tenant, resourceInput);
    const users = [];
    for (let i = 0; i < n; i++) {
      const user = await createUser(s, tenant);
      await s.users.assign(tenant.actor, resource.id, user.id);
      const token = await api.post('/tokens', { userId: user.id, type: 'hotp', secret: base32Encode(SEED) });
      assert.equal(token.status, 201, token.text);
      assert.equal((await api.put(`/resources/${resource.id}/tokens/${token.body.id}`)).status, 204);
      users.push(user);
    }
    const batch = (checks: unknown) => api.post(`/resources/${resource.id}/authenticate/batch`, { checks });
    return { tenant, api, resource, users, batch };
  }

  it('answers each check in order, exactly as the single endpoint would, and audits each', async () => {
    const { users, batch, resource } = await setup(3);
    const res = await batch([
      { login: users[0]!.login, otp: hotp(0) },
      { login: users[1]!.login, otp: '000000' },
      { login: 'nobody-here', otp: hotp(0) },
      { login: users[2]!.login, otp: hotp(0) },
    ]);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.results.length, 4);
    assert.equal(res.body.results[0].result, true);
    assert.equal(res.body.results[0].token.type, 'hotp');
    // Wrong code and unknown user read the same, as on the single endpoint (SEC-22).
    assert.deepEqual(res.body.results[1], { result: false });
    assert.deepEqual(res.body.results[2], { result: false });
    assert.equal(res.body.results[3].result, true);
    const audited = await ctx.services.db('audit_events').where({ resource_id: resource.id, action: 'authenticate' }).count<{ count: string }[]>('* as count');
    assert.equal(Number(audited[0]!.count), 4, 'one audit event per check');
  });

  it('SEC-05 the same code twice in one batch succeeds once; replayed in a later batch it is refused', async () => {
    const { users, batch } = await setup(1);
    const login = users[0]!.login;
    const first = await batch([{ login, otp: hotp(0) }, { login, otp: hotp(0) }]);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.results.filter((r: { result: boolean }) => r.result).length, 1);
    const again = await batch([{ login, otp: hotp(0) }]);
    assert.deepEqual(again.body.results, [{ result: false }]);
  });

  it('SEC-07 wrong codes in a batch count toward the lock like single checks, and a locked user is refused', async () => {
    const { users, batch, resource } = await setup(1, { failedAttemptsLimit: 3, lockMinutes: 5 });
    const login = users[0]!.login;
    const wrong = await batch(Array.from({ length: 10 }, () => ({ login, otp: '000000' })));
    assert.ok(wrong.body.results.every((r: unknown) => JSON.stringify(r) === '{"result":false}'));
    const member = await ctx.services.db('resource_users').where({ resource_id: resource.id, user_id: users[0]!.id }).first();
    assert.equal(member.fail_count, 3);
    assert.ok(member.locked_until > new Date(), 'locked');
    const right = await batch([{ login, otp: hotp(0) }]);
    assert.deepEqual(right.body.results, [{ result: false }], 'SEC-08 a lock applies to batches too');
  });

  it('a refused body fails alone with its message; the other checks still count', async () => {
    const { users, batch } = await setup(1);
    const res = await batch([{ login: 'has space', otp: '123456' }, { otp: '123456' }, 'not an object', { login: users[0]!.login, otp: hotp(0) }]);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.results[0].result, false);
    assert.match(res.body.results[0].error, /login: A login cannot contain spaces/);
    assert.match(res.body.results[1].error, /login/);
    assert.equal(typeof res.body.results[2].error, 'string');
    assert.equal(res.body.results[3].result, true);
  });

  it('refuses a batch that is not a list of 1 to 100 checks, an unknown resource and another tenant\'s resource', async () => {
    const { batch } = await setup(0);
    assertApiError(await batch([]), 422, 'validation_failed');
    assertApiError(await batch(Array.from({ length: 101 }, () => ({ login: 'a', otp: '123456' }))), 422, 'validation_failed');
    assertApiError(await batch('nope'), 422, 'validation_failed');
    const other = await setup(0);
    const { api } = await setup(0);
    assertApiError(await api.post(`/resources/${other.resource.id}/authenticate/batch`, { checks: [{ login: 'a', otp: '123456' }] }), 404, 'not_found');
    assertApiError(await api.post('/resources/not-a-uuid/authenticate/batch', { checks: [{ login: 'a', otp: '123456' }] }), 404, 'not_found');
  });
});
