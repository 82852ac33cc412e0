/**
 * WebAuthn in the portal in a real browser (SPEC §5.3 Enroll Token `webauthn`, §5.2 step 3,
 * SEC-14, SEC-26), with Chromium's virtual authenticator (CDP `WebAuthn` domain). A user with a
 * password and no token signs in to a portal that allows Enroll Token with the webauthn type,
 * registers a security key, signs out, then signs in with the password and the key, and the
 * dashboard shows the key as used. WebAuthn needs a domain as RP ID, so the pages are opened on
 * `localhost`, not 127.0.0.1. Every step is screenshotted; CSP violations and script errors fail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { screenshot, useBrowser, stepper, assertClean } from '../helpers/browser';
import { createTenant, createUser, unique } from '../helpers/factories';
import { createPortal } from '../helpers/portal';

const PASSWORD = 'a long portal passphrase';

const step = stepper('50-portal-webauthn-');

/** Login and password steps; ends on `next` (the dashboard or the second-factor page). */
async function passwordSignIn(page: Page, origin: string, base: string, login: string, next: string) {
  await page.goto(`${origin}${base}`);
  await page.getByLabel('Login or email').fill(login);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((u) => u.pathname === `${base}sign-in/verify`);
  await page.getByLabel('Password or emailed code').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === next);
}

describe('portal WebAuthn in a real browser', () => {
  const b = useBrowser();

  it('SEC-26 enrols a security key with a virtual authenticator, then signs in with password + key', { timeout: 120_000 }, async () => {
    const s = b.ctx.services;
    const tenant = await createTenant(s);
    const portal = await createPortal(s, tenant, { allowedActions: ['enroll_token'], enrollmentTokenTypes: ['webauthn'] });
    const email = `${unique('dana')}@example.test`;
    const user = await createUser(s, tenant, { login: unique('dana'), email, password: PASSWORD });
    await s.users.assign(tenant.actor, portal.resource.id, user.id);
    const origin = b.baseUrl.replace('127.0.0.1', 'localhost');
    const base = portal.base;

    const watched = await b.newPage();
    const { page } = watched;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });

    await step(page, 'password sign-in', async () => {
      // Without a token, sign-in lands on Enroll Token (issue 12 §3); the dashboard is one click away.
      await passwordSignIn(page, origin, base, user.login, `${base}actions/enroll_token`);
      await page.getByRole('heading', { level: 1, name: 'Enroll a token' }).waitFor();
      await page.goto(`${origin}${base}`);
      await page.getByRole('heading', { level: 1, name: `Hello, ${user.login}` }).waitFor();
      await page.getByRole('region', { name: 'Your tokens here' }).getByText('You have no tokens in this portal.').waitFor();
    });

    await step(page, 'enrol page', async () => {
      await page.goto(`${origin}${base}actions/enroll_token/webauthn`);
      await page.getByRole('heading', { level: 1, name: 'Add a security key' }).waitFor();
      await page.getByLabel('Name (optional)', { exact: true }).fill('Blue key');
      await screenshot(page, '50-portal-webauthn-enrol');
    });

    await step(page, 'register', async () => {
      await page.getByRole('button', { name: 'Register security key' }).click();
      await page.waitForURL((u) => u.pathname === base, { timeout: 20_000 });
      await page.getByText('Your security key "Blue key" is added.', { exact: false }).waitFor();
      const tokens = page.getByRole('region', { name: 'Your tokens here' });
      await tokens.getByText('Blue key').waitFor();
      assert.match((await tokens.textContent()) ?? '', /Security key/, 'the type is shown');
      await screenshot(page, '51-portal-webauthn-enrolled');
    });

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the authenticator holds one credential');
    const token = await s.db('tokens').where({ tenant_id: tenant.tenantId, user_id: user.id, type: 'webauthn' }).first();
    assert.ok(token, 'a webauthn token is stored');
    assert.equal(token.name, 'Blue key');
    assert.ok(token.enabled);
    const stored = await s.db('token_webauthn_credentials').where({ token_id: token.id }).first();
    assert.equal(stored.credential_id, Buffer.from(credentials[0].credentialId, 'base64').toString('base64url'), 'the credential id is kept (base64url)');
    assert.equal(stored.rp_id, 'localhost');
    assert.ok(await s.db('token_resources').where({ token_id: token.id, resource_id: portal.resource.id }).first(), 'assigned to the resource');
    const audit = await s.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'portal.token.enroll', target_id: token.id }).first();
    assert.equal(audit?.result, 'success', 'the enrolment is audited');
    const notice = await s.db('messages').where({ tenant_id: tenant.tenantId, recipient: email, subject: 'A security key was added' }).first();
    assert.ok(notice, 'the user is notified');

    await step(page, 'sign out', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    });

    await step(page, 'second factor with the key', async () => {
      await passwordSignIn(page, origin, base, user.login, `${base}sign-in/second-factor`);
      await page.getByRole('heading', { level: 1, name: 'Second factor' }).waitFor();
      await screenshot(page, '52-portal-webauthn-second-factor');
    });

    await step(page, 'key not recognised', async () => {
      // The browser finds no matching key (the authenticator forgot it): a clear message, nothing sent to the server.
      await cdp.send('WebAuthn.clearCredentials', { authenticatorId });
      await page.getByRole('button', { name: 'Use your security key' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor({ timeout: 20_000 });
      assert.match((await alert.textContent()) ?? '', /cancelled or timed out|could not use the security key/);
      assert.equal(new URL(page.url()).pathname, `${base}sign-in/second-factor`, 'still on the second factor');
      await screenshot(page, '52b-portal-webauthn-refused');
      const row = await s.db('resource_users').where({ resource_id: portal.resource.id, user_id: user.id }).first();
      assert.equal(row.fail_count, 0, 'no attempt counted: no answer reached the server');
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: credentials[0] });
    });

    await step(page, 'second factor with the key, again', async () => {
      await page.getByRole('button', { name: 'Use your security key' }).click();
      await page.waitForURL((u) => u.pathname === base, { timeout: 20_000 });
      await page.getByRole('heading', { level: 1, name: `Hello, ${user.login}` }).waitFor();
      const tokens = page.getByRole('region', { name: 'Your tokens here' });
      await tokens.getByText('Blue key').waitFor();
      assert.match((await tokens.textContent()) ?? '', /Last used \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/, 'the key shows it was just used');
      await screenshot(page, '53-portal-webauthn-signed-in');
    });

    const after = await s.db('token_webauthn_credentials').where({ token_id: token.id }).first();
    assert.ok(Number(after.sign_count) > Number(stored.sign_count), 'the sign counter moved forward');
    const signIn = await s.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'portal.sign_in', target_id: user.id, result: 'success' }).orderBy('id', 'desc').first();
    assert.equal(signIn?.details.method, 'webauthn', 'the sign-in with the key is audited');
    assertClean(watched, 'webauthn enrol and sign-in');
  });
});
