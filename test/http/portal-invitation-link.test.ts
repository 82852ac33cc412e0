/**
 * The invitation link (issue 12 §3): the portal's sign-in page prefills the login from `?login=`
 * (escaped, sign-in rules unchanged), and after sign-in a user with no token in the resource
 * lands on Enroll Token when the resource offers it, else on the dashboard.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { assertRedirect, createApiToken, createPortalMember, createPortalWorld, enterLogin, enterSecret, visitor } from '../helpers/portal';

const PASSWORD = 'a long portal passphrase';

describe('portal: the invitation link', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(async () => ctx.close());

  it('prefills the login field from ?login= and escapes it', async () => {
    const w = await createPortalWorld(ctx);
    const page = await visitor(ctx.app).get(`${w.portal.base}?login=${encodeURIComponent('alice.smith')}`);
    assert.equal(page.status, 200);
    assert.match(page.text, /name="login"[^>]*value="alice\.smith"|value="alice\.smith"[^>]*name="login"/);
    const hostile = await visitor(ctx.app).get(`${w.portal.base}?login=${encodeURIComponent('"><script>alert(1)</script>')}`);
    assert.equal(hostile.status, 200);
    assert.doesNotMatch(hostile.text, /<script>alert/);
    const plain = await visitor(ctx.app).get(w.portal.base);
    assert.match(plain.text, /name="login"[^>]*value=""|value=""[^>]*name="login"/);
  });

  it('a user without a token lands on Enroll Token after sign-in when the resource offers it', async () => {
    const w = await createPortalWorld(ctx, { allowedActions: ['enroll_token'], enrollmentTokenTypes: ['totp'] });
    const u = await createPortalMember(ctx, w, { password: PASSWORD });
    const agent = visitor(ctx.app);
    await agent.get(`${w.portal.base}?login=${encodeURIComponent(u.login)}`);
    await enterLogin(agent, w.portal, u.login);
    assertRedirect(await enterSecret(agent, w.portal, PASSWORD), `${w.portal.base}actions/enroll_token`, 'password step');
    const enroll = await agent.get(`${w.portal.base}actions/enroll_token`);
    assert.equal(enroll.status, 200, enroll.text);
  });

  it('lands on the dashboard when Enroll Token is off, and a user with a token still gets the second step', async () => {
    const off = await createPortalWorld(ctx);
    const u = await createPortalMember(ctx, off, { password: PASSWORD });
    const agent = visitor(ctx.app);
    await enterLogin(agent, off.portal, u.login);
    assertRedirect(await enterSecret(agent, off.portal, PASSWORD), off.portal.base, 'password step');

    const on = await createPortalWorld(ctx, { allowedActions: ['enroll_token'], enrollmentTokenTypes: ['totp'] });
    const t = await createPortalMember(ctx, on, { password: PASSWORD });
    await createApiToken(on, { type: 'totp', userId: t.id }, on.portal.resource.id);
    const other = visitor(ctx.app);
    await enterLogin(other, on.portal, t.login);
    assertRedirect(await enterSecret(other, on.portal, PASSWORD), `${on.portal.base}sign-in/second-factor`, 'password step');
  });
});
