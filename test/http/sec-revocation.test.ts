/**
 * SEC-15 revocation of a whole tenant or resource: once disabled, nothing signs in (console,
 * portal) or validates (API authenticate, challenge), even with the right password and code;
 * open sessions end. Tenants are disabled by operators with the CLI (audited).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestContext, type TestContext } from '../helpers/context';
import { TEST_PASSWORD, unique } from '../helpers/factories';
import { postForm, signIn } from '../helpers/admin-agent';
import { lastLine, runCli } from '../helpers/cli';
import { assertRedirect, createApiToken, createPortalMember, createPortalWorld, enterLogin, enterSecret, visitor, type PortalWorld } from '../helpers/portal';
import { base32Encode, generateTotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const totpNow = (offsetSteps = 0) => generateTotp(SEED, Date.now() + offsetSteps * 30_000, { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 });
/** The API-key cache of a web process (src/api-keys/api-key.service.ts) holds a lookup this long. */
const API_KEY_CACHE_MS = 2_000;

describe('SEC-15 disabled tenants and resources', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  /** A portal user with a password and a TOTP token (plus an email token for challenges), signed in at the portal. */
  async function world() {
    const w = await createPortalWorld(ctx, { resource: { maxTokensPerUser: 2 } });
    const user = await createPortalMember(ctx, w, { password: TEST_PASSWORD, email: `${unique('u')}@example.test` });
    const agent = visitor(ctx.app);
    assertRedirect(await enterLogin(agent, w.portal, user.login), `${w.portal.base}sign-in/verify`);
    assertRedirect(await enterSecret(agent, w.portal, TEST_PASSWORD), w.portal.base, 'signed in (no token yet)');
    await createApiToken(w, { userId: user.id, type: 'totp', secret: base32Encode(SEED) }, w.portal.resource.id);
    await createApiToken(w, { userId: user.id, type: 'email' }, w.portal.resource.id);
    return { w, user, agent };
  }
  const authenticate = (w: PortalWorld, login: string, otp: string) => w.api.post(`/resources/${w.portal.resource.id}/authenticate`, { login, otp });
  const challenge = (w: PortalWorld, login: string) => w.api.post(`/resources/${w.portal.resource.id}/challenge`, { login });
  const portalSessions = (resourceId: string) => ctx.services.db('sessions').whereRaw(`data->'portal'->>'resourceId' = ?`, [resourceId]);

  it('SEC-15 tenant:disable stops console, portal, API authenticate and challenge at once, ends the sessions, and is audited; tenant:enable restores sign-in', { timeout: 60_000 }, async () => {
    const { w, user, agent } = await world();
    const console_ = await signIn(ctx.app, w.tenant);
    assert.equal((await console_.get('/admin/resources')).status, 200, 'control: console session');
    assert.equal((await agent.get(w.portal.base)).status, 200, 'control: portal session');
    assert.equal((await authenticate(w, user.login, totpNow(-1))).body.result, true, 'control: a right code validates');
    assert.ok((await portalSessions(w.portal.resource.id)).length > 0);

    const run = await runCli(['tenant:disable', '--id', w.tenant.tenantId]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(lastLine(run.stdout)), { tenantId: w.tenant.tenantId, disabled: true, changed: true });
    await sleep(API_KEY_CACHE_MS + 200);

    assert.deepEqual(await portalSessions(w.portal.resource.id), [], 'portal sessions deleted');
    assert.equal((await agent.get(w.portal.base)).status, 404, 'the portal is gone');
    const fresh = visitor(ctx.app);
    assert.equal((await fresh.get(`${w.portal.base}sign-in`)).status, 404, 'no portal sign-in');
    const refusedConsole = await console_.get('/admin/resources');
    assert.equal(refusedConsole.status, 303, 'the console session ends');
    const again = await postForm(request.agent(ctx.app), '/admin/sign-in', '/admin/sign-in', { email: w.tenant.email, password: w.tenant.password });
    assert.equal(again.status, 401, 'console sign-in refused with the right password');
    assert.equal((await authenticate(w, user.login, totpNow())).status, 401, 'the API key no longer works, even with a right code');
    assert.equal((await challenge(w, user.login)).status, 401);

    const events = await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'tenant.disabled' });
    assert.equal(events.length, 1);
    assert.deepEqual([events[0].actor_type, events[0].target_id], ['system', w.tenant.tenantId]);
    const twice = await runCli(['tenant:disable', '--id', w.tenant.tenantId]);
    assert.equal(twice.code, 0, twice.stderr);
    assert.equal(JSON.parse(lastLine(twice.stdout)).changed, false, 'idempotent, audited once');

    const enabled = await runCli(['tenant:enable', '--id', w.tenant.tenantId]);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal((await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'tenant.enabled' })).length, 1);
    await sleep(API_KEY_CACHE_MS + 200);
    assert.equal((await authenticate(w, user.login, totpNow())).body.result, true, 'validates again');
    assert.equal((await agent.get(w.portal.base)).status, 200, 'the portal is back');
    assert.doesNotMatch((await agent.get(w.portal.base)).text, /Sign out/, 'but the old portal session stays ended');
  });

  it('SEC-15 tenant:disable / tenant:enable: unknown or malformed id → exit 1 with a message; no --id → usage (2)', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const run = await runCli(['tenant:disable', '--id', id]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /Tenant was not found\./);
      assert.doesNotMatch(run.stderr, /at .*\.ts:\d+/);
    }
    const usage = await runCli(['tenant:enable']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /tenant:enable --id TENANT_ID/);
  });

  it('SEC-15 a disabled resource validates nothing (authenticate and challenge 404, even with a right code) and its portal answers 404', async () => {
    const { w, user, agent } = await world();
    await ctx.services.db('resources').where({ id: w.portal.resource.id }).update({ disabled_at: new Date() });
    const res = await authenticate(w, user.login, totpNow());
    assert.equal(res.status, 404, res.text);
    assert.equal(res.body.result, undefined, 'never result: true');
    assert.equal((await challenge(w, user.login)).status, 404);
    assert.equal((await agent.get(w.portal.base)).status, 404);
    const sent = await ctx.services.db('messages').where({ tenant_id: w.tenant.tenantId, recipient: user.email });
    assert.equal(sent.length, 0, 'no challenge code was sent');
  });

  it('SEC-15 a blocked user or a disabled token is refused at once with a right code, and the code is not spent; the blocked user\'s portal session ends', async () => {
    const { w, user, agent } = await world();
    const tokens = await w.api.get(`/tokens?userId=${user.id}`);
    const totp = tokens.body.items.find((t: { type: string }) => t.type === 'totp');
    const code = totpNow();

    assert.equal((await w.api.patch(`/tokens/${totp.id}`, { enabled: false })).status, 200);
    assert.deepEqual((await authenticate(w, user.login, code)).body, { result: false }, 'disabled token');
    assert.equal((await w.api.patch(`/tokens/${totp.id}`, { enabled: true })).status, 200);

    await ctx.services.users.block(w.tenant.actor, user.id);
    assert.deepEqual((await authenticate(w, user.login, code)).body, { result: false }, 'blocked user');
    assertRedirect(await agent.get(w.portal.base), w.portal.base, 'the portal session ends');
    assert.deepEqual(await ctx.services.db('sessions').whereRaw(`data->'portal'->>'userId' = ?`, [user.id]), [], 'no session of theirs is left');

    await ctx.services.users.unblock(w.tenant.actor, user.id);
    assert.equal((await authenticate(w, user.login, code)).body.result, true, 'the refusals spent nothing: the same code works once allowed');
  });
});
