/**
 * The permission matrix of the portal's self-service (SPEC §5.3, issue acceptance): for each of
 * the 12 actions and each of the 6 enrollment types, refused with 403 when the administrator has
 * not enabled it — the dashboard offers nothing, and every request sent by hand (GET pages and
 * POSTs with a valid form token) is refused and changes nothing — and served when enabled. Each
 * flow's own successes and unhappy paths are in portal-profile / portal-enrollment /
 * portal-token-actions / portal-environments / portal-webauthn tests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, createUser } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { csrfFrom, type Agent } from '../helpers/admin-agent';
import { createPortal, enterLogin, enterSecondFactor, enterSecret, visitor, type TestPortal } from '../helpers/portal';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';
import { ALLOWED_ACTIONS, ENROLLMENT_TYPE_IDS } from '../../src/selfservice/self-service.types';

const PASSWORD = 'a long matrix passphrase';
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const hotp = (n: number) => generateHotp(SEED, n, { algorithm: 'SHA1', digits: 6 });

/** Each action's page, and the state-changing requests it accepts (with a plausible body). */
const ACTION_REQUESTS: Record<string, { page: string; posts: Array<[path: string, body: Record<string, string>]> }> = {
  enroll_token: { page: 'enroll_token', posts: ENROLLMENT_TYPE_IDS.filter((t) => t !== 'webauthn').map((t) => [`enroll_token/${t}`, {}] as [string, Record<string, string>]).concat([['enroll_token/webauthn/options', {}]]) },
  reissue_token: { page: 'reissue_token', posts: [['reissue_token', { tokenId: 'TOKEN' }], ['reissue_token/confirm', { tokenId: 'TOKEN', code: '123456' }]] },
  assign_token: { page: 'assign_token', posts: [['assign_token', { tokenId: 'TOKEN' }], ['assign_token/claim', { serial: 'HW-1', code: '123456' }]] },
  unassign_token: { page: 'unassign_token', posts: [['unassign_token', { tokenId: 'TOKEN' }]] },
  sync_token: { page: 'sync_token', posts: [['sync_token', { tokenId: 'TOKEN', code1: hotp(300), code2: hotp(301) }]] },
  configure_pin: { page: 'configure_pin', posts: [['configure_pin', { tokenId: 'TOKEN', pin: '482915', pinConfirm: '482915' }], ['configure_pin/remove', { tokenId: 'TOKEN' }]] },
  change_email: { page: 'change_email', posts: [['change_email', { email: 'new-address@example.test' }], ['change_email/confirm', { code: '123456' }]] },
  change_phone: { page: 'change_phone', posts: [['change_phone', { phone: '+14155550199' }], ['change_phone/confirm', { code: '123456' }]] },
  change_alias: { page: 'change_alias', posts: [['change_alias', { login: 'renamed-by-hand' }]] },
  change_name: { page: 'change_name', posts: [['change_name', { firstName: 'Mallory', lastName: 'Hand' }]] },
  change_password: { page: 'change_password', posts: [['change_password', { currentPassword: PASSWORD, newPassword: 'another long passphrase', confirmPassword: 'another long passphrase' }]] },
  manage_environment: { page: 'manage_environment', posts: [['manage_environment/trust', { label: 'By hand' }]] },
};

describe('portal actions: the permission matrix (SPEC §5.3)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('covers every action id', () => {
    assert.deepEqual(Object.keys(ACTION_REQUESTS).sort(), [...ALLOWED_ACTIONS].sort());
  });

  /** A user with password, email, phone and an HOTP token in the portal, signed in with both factors. */
  async function signedInUser(options: Parameters<typeof createPortal>[2]) {
    const tenant = await createTenant(ctx.services);
    const portal = await createPortal(ctx.services, tenant, options);
    const user = await createUser(ctx.services, tenant, { password: PASSWORD, email: `${tenant.tenantId.slice(0, 8)}@example.test`, phone: '+14155550100', firstName: 'Ada', lastName: 'Lovelace' });
    await ctx.services.users.assign(tenant.actor, portal.resource.id, user.id);
    const api = apiClient(ctx.app, tenant.apiKey);
    const token = await api.post('/tokens', { type: 'hotp', userId: user.id, secret: base32Encode(SEED), counter: 0 });
    assert.equal((await api.put(`/resources/${portal.resource.id}/tokens/${token.body.id}`)).status, 204);
    const agent = visitor(ctx.app);
    await enterLogin(agent, portal, user.login);
    await enterSecret(agent, portal, PASSWORD);
    assert.equal((await enterSecondFactor(agent, portal, hotp(0))).status, 303);
    const dashboard = await agent.get(portal.base);
    assert.match(dashboard.text, /id="tokens-h"/, 'signed in');
    return { tenant, portal, user, agent, tokenId: token.body.id as string, csrf: csrfFrom(dashboard.text) };
  }

  /** Everything an action could change for this user, to compare before and after. */
  async function stateOf(tenantId: string, userId: string) {
    const db = ctx.services.db;
    const user = await db('users').where({ id: userId }).first('login', 'email', 'phone', 'first_name', 'last_name', 'password_hash');
    const tokens = await db('tokens').where({ tenant_id: tenantId }).orderBy('id').select('id', 'user_id', 'enabled', 'pin_hash', 'seed_sealed', 'pending_seed_sealed', 'hotp_counter');
    const links = await db('token_resources').where({ tenant_id: tenantId }).orderBy(['token_id', 'resource_id']).select('token_id', 'resource_id');
    const count = async (table: string) => Number((await db(table).where({ tenant_id: tenantId }).count<{ count: string }[]>('* as count'))[0].count);
    return { user, tokens, links, messages: await count('messages'), environments: await count('user_environments'), contactChanges: await count('portal_contact_changes') };
  }

  const post = (agent: Agent, portal: TestPortal, csrf: string, path: string, body: Record<string, string>, tokenId: string) =>
    agent.post(`${portal.base}actions/${path}`).type('form').send({ _csrf: csrf, ...Object.fromEntries(Object.entries(body).map(([k, v]) => [k, v === 'TOKEN' ? tokenId : v])) });

  it('with everything disabled the dashboard offers nothing, and every page and request by hand gets 403 and changes nothing', async () => {
    const { tenant, portal, user, agent, tokenId, csrf } = await signedInUser({ allowedActions: [], enrollmentTokenTypes: [] });
    const dashboard = await agent.get(portal.base);
    assert.doesNotMatch(dashboard.text, new RegExp(`href="${portal.base}actions/`), 'no action offered');
    assert.match(dashboard.text, /has not enabled any self-service actions/);
    const before = await stateOf(tenant.tenantId, user.id);

    for (const [action, { page, posts }] of Object.entries(ACTION_REQUESTS)) {
      const get = await agent.get(`${portal.base}actions/${page}`);
      assert.equal(get.status, 403, `GET ${action}`);
      assert.match(get.text, /Your administrator has not enabled this action/, `GET ${action}`);
      for (const [path, body] of posts) {
        const res = await post(agent, portal, csrf, path, body, tokenId);
        assert.equal(res.status, 403, `POST ${path}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    for (const type of ENROLLMENT_TYPE_IDS) assert.equal((await agent.get(`${portal.base}actions/enroll_token/${type}`)).status, 403, `GET enroll ${type}`);
    assert.deepEqual(await stateOf(tenant.tenantId, user.id), before, 'nothing changed');
  });

  it('with every action enabled but no enrollment type, each type is refused (403) by page and by hand', async () => {
    const { tenant, portal, user, agent, tokenId, csrf } = await signedInUser({ allowedActions: [...ALLOWED_ACTIONS], enrollmentTokenTypes: [] });
    const before = await stateOf(tenant.tenantId, user.id);
    for (const type of ENROLLMENT_TYPE_IDS) {
      assert.equal((await agent.get(`${portal.base}actions/enroll_token/${type}`)).status, 403, `GET enroll ${type}`);
      const start = type === 'webauthn' ? 'enroll_token/webauthn/options' : `enroll_token/${type}`;
      assert.equal((await post(agent, portal, csrf, start, {}, tokenId)).status, 403, `POST enroll ${type}`);
    }
    assert.deepEqual(await stateOf(tenant.tenantId, user.id), before, 'nothing created');
  });

  it('with everything enabled, the dashboard offers all 12 actions and each action and enrollment type is served', async () => {
    const { portal, agent } = await signedInUser({ allowedActions: [...ALLOWED_ACTIONS], enrollmentTokenTypes: [...ENROLLMENT_TYPE_IDS], resource: { maxTokensPerUser: 5 } });
    const dashboard = await agent.get(portal.base);
    const offered = [...dashboard.text.matchAll(new RegExp(`href="${portal.base}actions/([a-z_]+)"`, 'g'))].map((m) => m[1]);
    assert.deepEqual([...new Set(offered)].sort(), [...ALLOWED_ACTIONS].sort());
    for (const [action, { page }] of Object.entries(ACTION_REQUESTS)) {
      const res = await agent.get(`${portal.base}actions/${page}`);
      assert.equal(res.status, 200, `GET ${action}: ${res.status} ${res.headers.location ?? ''}`);
      // A form to act, or (the enrollment chooser) links to each type's form.
      assert.match(res.text, new RegExp(`(<form method="post" action="|href=")${portal.base}actions/${page}`), `${action} shows its form`);
    }
    const chooser = await agent.get(`${portal.base}actions/enroll_token`);
    for (const type of ENROLLMENT_TYPE_IDS) {
      assert.ok(chooser.text.includes(`${portal.base}actions/enroll_token/${type}`), `the chooser offers ${type}`);
      assert.equal((await agent.get(`${portal.base}actions/enroll_token/${type}`)).status, 200, `GET enroll ${type}`);
    }
  });
});
