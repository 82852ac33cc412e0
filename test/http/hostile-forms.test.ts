/**
 * Every form of the signed-in console and of a signed-in portal (both URL forms), found by
 * reading their pages, gets hostile values in each field (NUL, lone surrogate, control
 * characters, long text, huge or odd numbers, a repeated field): no answer may be 5xx or show a
 * stack trace (finding A: "no route may answer 5xx to bad input"). Destructive forms (delete,
 * revoke, disable, remove, sign-out) are left out so the pages stay.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, unique } from '../helpers/factories';
import { csrfFrom, signIn } from '../helpers/admin-agent';
import { apiClient } from '../helpers/api-client';
import { crawlForms } from '../helpers/hostile-forms';
import { createApiToken, createPortalMember, createPortalWorld, visitor } from '../helpers/portal';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';
import { ALLOWED_ACTIONS, ENROLLMENT_TYPE_IDS } from '../../src/selfservice/self-service.types';

const PASSWORD = 'a long hostile passphrase';
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const hotp = (n: number) => generateHotp(SEED, n, { algorithm: 'SHA1', digits: 6 });

describe('forms never answer 5xx to hostile fields', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext({ PORTAL_DOMAIN: 'localhost' });
  });
  after(() => ctx.close());

  it('each field of each form of the signed-in console, with each hostile value', async () => {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const resource = (await api.post('/resources', { name: unique('Forms') })).body;
    const user = (await api.post('/users', { login: unique('forms'), email: `${unique('f')}@example.test` })).body;
    await api.put(`/resources/${resource.id}/users/${user.id}`);
    const token = (await api.post('/tokens', { type: 'hotp', userId: user.id })).body;
    await api.put(`/resources/${resource.id}/tokens/${token.id}`);
    const admin = await signIn(ctx.app, tenant);
    const { failures, sent } = await crawlForms(admin, [
      '/admin/resources/new', `/admin/resources/${resource.id}`, `/admin/resources/${resource.id}/users`,
      `/admin/resources/${resource.id}/self-service`, `/admin/resources/${resource.id}/self-service/actions`, `/admin/resources/${resource.id}/self-service/enrollment`,
      '/admin/users/new', `/admin/users/${user.id}`, '/admin/tokens/new', `/admin/tokens/${token.id}`, '/admin/admins', '/admin/api-keys',
    ]);
    assert.ok(sent > 100, `only ${sent} requests sent`);
    assert.deepEqual(failures, [], `${failures.length} bad answers:\n${failures.slice(0, 25).join('\n')}`);
  });

  for (const form of ['path', 'host'] as const) {
    it(`each field of each form of a signed-in portal with every action enabled (${form} form)`, async () => {
      const w = await createPortalWorld(ctx, { allowedActions: [...ALLOWED_ACTIONS], enrollmentTokenTypes: [...ENROLLMENT_TYPE_IDS], resource: { failedAttemptsLimit: 10 } });
      const user = await createPortalMember(ctx, w, { password: PASSWORD, email: `${unique('p')}@example.test`, phone: '+14155550100', firstName: 'Ada', lastName: 'Lovelace' });
      await createApiToken(w, { type: 'hotp', userId: user.id, secret: base32Encode(SEED), counter: 0 }, w.portal.resource.id);
      const [base, host] = form === 'path' ? [w.portal.base, undefined] : ['/', `${w.portal.address}.localhost`];
      const agent = visitor(ctx.app);
      const step = async (page: string, action: string, fields: Record<string, string>) => {
        const get = agent.get(page);
        if (host) get.set('Host', host);
        const csrf = csrfFrom((await get).text);
        // Made after the GET answered: the agent attaches its cookies when a request is made.
        const post = agent.post(action).type('form');
        if (host) post.set('Host', host);
        return post.send({ _csrf: csrf, ...fields });
      };
      await step(base, `${base}sign-in`, { login: user.login });
      await step(`${base}sign-in/verify`, `${base}sign-in/verify`, { secret: PASSWORD });
      assert.equal((await step(`${base}sign-in/second-factor`, `${base}sign-in/second-factor`, { code: hotp(0) })).status, 303);
      const pages = [base, ...ALLOWED_ACTIONS.map((a) => `${base}actions/${a}`)];
      const { failures, sent } = await crawlForms(agent, pages, host);
      assert.ok(sent > 100, `only ${sent} requests sent`);
      assert.deepEqual(failures, [], `${failures.length} bad answers:\n${failures.slice(0, 25).join('\n')}`);
    });
  }
});
