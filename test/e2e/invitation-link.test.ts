/**
 * Enrolment invitation in a real browser (issue 12 §3): the admin invites a user; the link from the
 * email (through the queue, nodemailer and a real SMTP server) opens the portal's sign-in with the
 * login filled in; the password leads straight to Enroll Token; the first TOTP token is enrolled
 * with a code computed from the key shown. Any CSP violation or script error fails the test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { authenticator } from 'otplib';
import { assertClean, screenshot, stepper, useBrowserWithMail } from '../helpers/browser';
import { createTenant, createUser, unique } from '../helpers/factories';
import { createPortal } from '../helpers/portal';

const PASSWORD = 'a long portal passphrase';
const step = stepper('70-invitation-');

describe('enrolment invitation in a real browser', () => {
  const { browser: b, mail } = useBrowserWithMail();

  it('the emailed link → sign-in with the login prefilled → Enroll Token → first token', { timeout: 120_000 }, async () => {
    const s = b.ctx.services;
    const tenant = await createTenant(s);
    const portal = await createPortal(s, tenant, { allowedActions: ['enroll_token'], enrollmentTokenTypes: ['totp'] });
    const email = `${unique('eve')}@example.test`.toLowerCase();
    const user = await createUser(s, tenant, { login: unique('eve'), email, password: PASSWORD });
    await s.users.assign(tenant.actor, portal.resource.id, user.id);
    assert.deepEqual(await s.invitations.invite(tenant.actor, portal.resource.id, { userIds: [user.id] }), { invited: 1, skipped: [] });

    const invitation = await mail().waitFor((m) => m.to.includes(email), 20_000);
    const link = invitation.text.match(/http:\/\/localhost:3000(\/portal\/\S+)/)?.[1] ?? assert.fail(`no portal link in: ${invitation.text}`);

    const watched = await b.newPage();
    const { page } = watched;
    await step(page, 'open the link', async () => {
      await page.goto(link);
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      assert.equal(await page.getByLabel('Login or email').inputValue(), user.login, 'the login is filled in');
      await screenshot(page, '70-invitation-01-sign-in-prefilled');
    });
    await step(page, 'sign in', async () => {
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL((u) => u.pathname === `${portal.base}sign-in/verify`);
      await page.getByLabel('Password or emailed code').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.pathname === `${portal.base}actions/enroll_token`);
      await page.getByRole('heading', { level: 1, name: 'Enroll a token' }).waitFor();
      await screenshot(page, '70-invitation-02-lands-on-enroll');
    });
    await step(page, 'enroll totp', async () => {
      await page.getByRole('link', { name: 'Authenticator app (TOTP)', exact: true }).click();
      await page.waitForURL((u) => u.pathname === `${portal.base}actions/enroll_token/totp`);
      await page.getByRole('button', { name: 'Start' }).click();
      const key = ((await page.locator('#manual-key').textContent()) ?? '').replace(/\s+/g, '');
      assert.match(key, /^[A-Z2-7]{32}$/);
      await page.getByLabel('Code', { exact: true }).fill(authenticator.generate(key));
      await page.getByRole('button', { name: 'Confirm' }).click();
      await page.waitForURL((u) => u.pathname === portal.base);
      await page.getByText('is ready', { exact: false }).waitFor();
    });
    const token = await s.db('tokens').where({ tenant_id: tenant.tenantId, user_id: user.id, type: 'totp' }).first();
    assert.equal(token?.enabled, true, 'the first token is enabled');
    const state = await s.invitations.statesOf(tenant.actor, portal.resource.id, [user.id]);
    assert.equal(state.get(user.id)?.state, 'enrolled');
    assertClean(watched, 'invitation flow');
  });
});
