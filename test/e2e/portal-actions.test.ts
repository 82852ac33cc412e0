/**
 * Every self-service action in a real browser (SPEC §5.3, §5.4). One portal with all 12 actions
 * and every enrollable token type; one user with a password, an email, a phone and an HOTP token
 * (RFC 4226 seed), so each sign-in needs a second factor. The user signs in (password + HOTP),
 * sees all 12 actions, enrolls a TOTP token (the manual key is read off the page and the code
 * comes from the Debian `oathtool`, never from our engine), signs out, signs in again with a
 * code `oathtool` computes for that key, then does every action from the dashboard through its
 * link and form: trust this browser / rename / remove it (Manage User Environment), Change Name,
 * Alias, Password, Email (code read from a real SMTP server) and Phone (code from the Outbox),
 * Token Synchronization, Reissue Token, Assign Existing Token (a hardware token claimed from
 * stock), Configure PIN, Unassign Token and Enroll Token → backup codes; the enrollment chooser
 * lists WebAuthn (its ceremony is in portal-webauthn.test.ts). Each result is checked on the page
 * and in the database; every page is screenshotted (60-portal-action-*), a few on a phone; any
 * CSP violation or console error fails the test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { PHONE_VIEWPORT, screenshot, useBrowserWithMail, stepper, assertNoHorizontalScroll, assertClean } from '../helpers/browser';
import { createTenant, createUser, unique } from '../helpers/factories';
import { createPortal } from '../helpers/portal';
import { hotpCode, nowSec } from '../helpers/oathtool';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';
import { summariseUserAgent } from '../../src/environments/user-agent';
import { verifyPassword } from '../../src/lib/passwords';
import { ACTION_GROUPS, ALLOWED_ACTIONS, ENROLLMENT_TYPE_IDS } from '../../src/selfservice/self-service.types';

const PASSWORD = 'a long portal passphrase';
const NEW_PASSWORD = 'another long passphrase';
/** RFC 4226 App. D seed for the user's HOTP token; another seed for the hardware token in stock. */
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const HW_SEED = Buffer.from('00112233445566778899aabbccddeeff00112233', 'hex');
const hotp = (counter: number) => generateHotp(SEED, counter, { algorithm: 'SHA1', digits: 6 });
const ACTION_LABELS = ACTION_GROUPS.flatMap((g) => g.actions.map(([, label]) => label as string));

const run = promisify(execFile);
/** `oathtool` with base32 key input, as a user would type the key shown on the page. */
async function oathtool(...args: string[]): Promise<string> {
  const { stdout } = await run('oathtool', args, { timeout: 10_000 });
  const code = stdout.trim();
  assert.match(code, /^\d{6}$/, `oathtool ${args.join(' ')} printed a code`);
  return code;
}

const step = stepper('60-portal-action-');

/**
 * Clicks a submit button and waits for its POST to be answered; a refusal (4xx) fails at once
 * with the page's alert or field message instead of a later timeout.
 */
async function submit(page: Page, button: string | RegExp) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: button, exact: typeof button === 'string' }).click(),
  ]);
  if (res.status() >= 400) {
    const html = await res.text().catch(() => '');
    const why = html.match(/role="alert">(?:<h2[^>]*>)?([^<]*)/)?.[1]?.trim() ?? html.match(/class="error" id="[^"]*">([^<]*)/)?.[1]?.trim();
    assert.fail(`POST ${new URL(res.url()).pathname} answered ${res.status()}: ${why ?? '(no message)'}`);
  }
}

/** Waits for the page's level-1 heading. */
const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name, exact: typeof name === 'string' }).waitFor();

/** Waits for the success notice (flash) with exactly this text. */
async function flash(page: Page, text: string) {
  const notice = page.locator('.flash-success', { hasText: text });
  await notice.waitFor();
  assert.equal((await notice.textContent())?.trim(), text);
}

describe('every self-service action in a real browser', () => {
  const { browser: b, mail: sink } = useBrowserWithMail();

  it('with every action and type enabled, a user does each action from the dashboard (TOTP from oathtool, email, environments)', { timeout: 180_000 }, async () => {
    const s = b.ctx.services;
    const db = s.db;
    const tenant = await createTenant(s);
    const portal = await createPortal(s, tenant, {
      allowedActions: [...ALLOWED_ACTIONS],
      enrollmentTokenTypes: [...ENROLLMENT_TYPE_IDS],
      resource: { name: unique('Intranet'), maxTokensPerUser: 10 },
    });
    const base = portal.base;
    const email = `${unique('erin')}@example.test`;
    const phone = `+1415555${String(1000 + Math.floor(Math.random() * 9000))}`;
    const user = await createUser(s, tenant, { login: unique('erin'), email, phone, password: PASSWORD });
    await s.users.assign(tenant.actor, portal.resource.id, user.id);
    const fob = await s.tokens.create(tenant.actor, { type: 'hotp', userId: user.id, name: 'Key fob', secret: base32Encode(SEED), counter: 0 });
    await s.tokens.assignToResource(tenant.actor, portal.resource.id, fob.token.id);
    // A hardware token in stock (no owner, no resource), to be claimed by serial + code.
    const hwSerial = unique('HW').toUpperCase();
    const hw = await s.tokens.create(tenant.actor, { type: 'hardware', serial: hwSerial, secret: HW_SEED.toString('hex'), counter: 0 });
    assert.equal(hw.token.userId ?? null, null, 'the hardware token is in stock');

    const tokenRow = (id: string) => db('tokens').where({ id }).first();
    const userRow = () => db('users').where({ id: user.id }).first();
    const assigned = (tokenId: string) => db('token_resources').where({ token_id: tokenId, resource_id: portal.resource.id }).first();
    const actionLink = (page: Page, label: string) => page.getByRole('region', { name: 'What you can do here' }).getByRole('link', { name: label, exact: true });

    /** From the dashboard, follows an action's link to its page. */
    async function open(page: Page, label: string, path: string, title: string | RegExp) {
      await actionLink(page, label).click();
      await page.waitForURL((u) => u.pathname === `${base}actions/${path}`);
      await heading(page, title);
    }
    /** Back on the dashboard after a change: the greeting and the notice. */
    async function dashboardWith(page: Page, text: string) {
      await page.waitForURL((u) => u.pathname === base);
      await page.getByRole('region', { name: 'What you can do here' }).waitFor();
      await flash(page, text);
    }

    const watched = await b.newPage();
    const { page } = watched;

    /** Login, password and a second-factor code; ends on the dashboard. */
    async function signIn(login: string, password: string, code: () => Promise<string>) {
      await page.goto(base);
      await page.getByLabel('Login or email').fill(login);
      await submit(page, 'Continue');
      await page.waitForURL((u) => u.pathname === `${base}sign-in/verify`);
      await page.getByLabel('Password or emailed code').fill(password);
      await submit(page, 'Sign in');
      await page.waitForURL((u) => u.pathname === `${base}sign-in/second-factor`);
      await heading(page, 'Second factor');
      await page.getByLabel('Code', { exact: true }).fill(await code());
      await submit(page, 'Verify');
      await page.waitForURL((u) => u.pathname === base);
    }

    // ---- 1. Sign in with the password and the HOTP token; all 12 actions are offered ----
    await step(page, 'sign-in', async () => {
      await signIn(user.login, PASSWORD, async () => hotp(0));
      await heading(page, `Hello, ${user.login}`);
      const links = page.getByRole('region', { name: 'What you can do here' }).getByRole('link');
      assert.deepEqual((await links.allTextContents()).map((t) => t.trim()), ACTION_LABELS, 'all 12 actions, in the console\'s order');
      assert.equal(ACTION_LABELS.length, 12);
      await page.getByRole('region', { name: 'Your tokens here' }).getByText('Key fob').waitFor();
      await assertNoHorizontalScroll(page, 'Dashboard');
      await screenshot(page, '60-portal-action-00-dashboard');
    });

    await step(page, 'phone dashboard', async () => {
      const phone = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
      await phone.context.addCookies(await watched.context.cookies());
      await phone.page.goto(base);
      await actionLink(phone.page, 'Manage User Environment').waitFor();
      await assertNoHorizontalScroll(phone.page, 'Dashboard with 12 actions on a phone');
      await screenshot(phone.page, '60-portal-action-phone-dashboard');
      await phone.context.close();
      assertClean(phone, 'phone dashboard');
    });

    // ---- 2. Enroll Token → TOTP, confirmed with a code from oathtool ----
    let totpKey = '';
    await step(page, 'enroll chooser', async () => {
      await open(page, 'Enroll Token', 'enroll_token', 'Enroll a token');
      for (const label of ['Authenticator app (TOTP)', 'Counter-based (HOTP)', 'Email code', 'SMS code', 'Security key / passkey (WebAuthn)', 'Backup codes']) {
        await page.getByRole('link', { name: label, exact: true }).waitFor();
      }
      assert.equal(await page.getByRole('link', { name: 'Security key / passkey (WebAuthn)' }).getAttribute('href'), `${base}actions/enroll_token/webauthn`, 'WebAuthn is offered');
      await assertNoHorizontalScroll(page, 'Enrollment chooser');
      await screenshot(page, '60-portal-action-01-enroll-choose');
    });

    await step(page, 'enroll totp', async () => {
      await page.getByRole('link', { name: 'Authenticator app (TOTP)', exact: true }).click();
      await page.waitForURL((u) => u.pathname === `${base}actions/enroll_token/totp`);
      await heading(page, 'Authenticator app (TOTP)');
      await page.getByLabel('Name (optional)').fill('Phone app');
      await screenshot(page, '60-portal-action-02-enroll-totp-start');
      await submit(page, 'Start');
      await heading(page, 'Authenticator app (TOTP): confirm your new token');
      await page.getByRole('img', { name: 'QR code of the key for an authenticator app' }).locator('svg').waitFor();
      totpKey = ((await page.locator('#manual-key').textContent()) ?? '').replace(/\s+/g, '');
      assert.match(totpKey, /^[A-Z2-7]{32}$/, 'a 160-bit base32 key is shown');
      await assertNoHorizontalScroll(page, 'TOTP QR page');
      await screenshot(page, '60-portal-action-03-enroll-totp-qr');
      await page.getByLabel('Code', { exact: true }).fill(await oathtool('--totp', '-b', totpKey));
      await submit(page, 'Confirm');
      await dashboardWith(page, 'Your token "Phone app" is ready: use it the next time you sign in.');
      await page.getByRole('region', { name: 'Your tokens here' }).getByText('Phone app').waitFor();
    });
    const totpToken = await db('tokens').where({ user_id: user.id, type: 'totp' }).first();
    assert.equal(totpToken?.enabled, true, 'the TOTP token is enabled once proven');
    assert.ok(await assigned(totpToken.id), 'and assigned to the resource');
    const notice = await step(page, 'enroll notice', () => sink().waitFor((m) => m.to.includes(email) && m.subject === 'A new token was added', 15_000));
    assert.match(notice.text, /Phone app|TOTP|authenticator/i);

    // ---- 3. Sign out; sign in with the password and the TOTP code of the next time step ----
    await step(page, 'sign out', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await heading(page, 'Sign in');
    });
    await step(page, 'sign-in with totp', async () => {
      // The confirming code's step is spent (SEC-05): use the next step's code, inside the window.
      await signIn(user.login, PASSWORD, () => oathtool('--totp', '-b', totpKey, `--now=@${nowSec() + 30}`));
      await heading(page, `Hello, ${user.login}`);
      const audited = await db('audit_events').where({ tenant_id: tenant.tenantId, action: 'portal.sign_in', target_id: user.id, result: 'success' });
      assert.equal(audited.length, 2, 'both sign-ins are audited');
      assert.ok(Number((await tokenRow(totpToken.id)).totp_last_step) > 0, 'the TOTP token signed in');
    });

    // ---- 4. Manage User Environment: trust this browser, rename it, remove it ----
    await step(page, 'trust this browser', async () => {
      const prompt = page.getByRole('region', { name: 'Trust this browser?' });
      await prompt.waitFor();
      await screenshot(page, '60-portal-action-04-trust-prompt');
      await prompt.getByLabel('Name for this browser').fill('Work laptop');
      await submit(page, 'Trust this browser');
      await page.waitForURL((u) => u.pathname === `${base}actions/manage_environment`);
      await heading(page, 'Trusted browsers');
      await flash(page, 'This browser is now trusted as "Work laptop".');
      const row = page.getByRole('row', { name: /Work laptop/ });
      await row.getByText('This browser').waitFor();
      const stored = await db('user_environments').where({ user_id: user.id }).whereNotNull('trusted_at');
      assert.equal(stored.length, 1, 'one trusted environment');
      assert.equal(stored[0].label, 'Work laptop');
    });

    await step(page, 'manage environments', async () => {
      await page.getByRole('link', { name: 'Back to the portal' }).click();
      await page.waitForURL((u) => u.pathname === base);
      await open(page, 'Manage User Environment', 'manage_environment', 'Trusted browsers');
      const table = page.getByRole('region', { name: 'Your trusted browsers' });
      const userAgent = await page.evaluate(() => navigator.userAgent);
      assert.ok(((await table.textContent()) ?? '').includes(summariseUserAgent(userAgent)), 'the browser is named');
      assert.match((await table.textContent()) ?? '', /127\.0\.0\.1/, 'the last IP is shown');
      await assertNoHorizontalScroll(page, 'Trusted browsers');
      await screenshot(page, '60-portal-action-05-environments');
      const phone = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
      await phone.context.addCookies(await watched.context.cookies());
      await phone.page.goto(`${base}actions/manage_environment`);
      await phone.page.getByRole('row', { name: /Work laptop/ }).waitFor();
      await assertNoHorizontalScroll(phone.page, 'Trusted browsers on a phone');
      await screenshot(phone.page, '60-portal-action-phone-environments');
      await phone.context.close();
      assertClean(phone, 'phone environments');

      await page.getByLabel('New name for Work laptop').fill('Office PC');
      await submit(page, 'Rename');
      await flash(page, 'Renamed to "Office PC".');
      await page.getByRole('row', { name: /Office PC/ }).waitFor();
      assert.equal((await db('user_environments').where({ user_id: user.id }).whereNotNull('trusted_at').first()).label, 'Office PC');
    });

    await step(page, 'remove environment', async () => {
      await page.getByRole('link', { name: 'Remove', exact: true }).click();
      await heading(page, 'Remove "Office PC"?');
      await page.getByText('This is the browser you are using now.', { exact: false }).waitFor();
      await screenshot(page, '60-portal-action-06-environment-remove');
      await submit(page, 'Remove');
      await page.waitForURL((u) => u.pathname === `${base}actions/manage_environment`);
      await flash(page, '"Office PC" is no longer trusted.');
      await page.getByText('You have no trusted browsers in this portal.').waitFor();
      assert.equal((await db('user_environments').where({ user_id: user.id }).whereNotNull('trusted_at')).length, 0, 'no trusted environment left');
      await page.getByRole('link', { name: 'Back to the portal' }).click();
      await page.waitForURL((u) => u.pathname === base);
    });

    // ---- 5. Profile: name, alias, password, email, phone ----
    await step(page, 'change name', async () => {
      await open(page, 'Change Name', 'change_name', 'Change your name');
      await page.getByLabel('First name').fill('Erin');
      await page.getByLabel('Last name').fill('Example');
      await screenshot(page, '60-portal-action-07-change-name');
      await submit(page, 'Save name');
      await dashboardWith(page, 'Your name was changed.');
      await heading(page, 'Hello, Erin Example');
      const row = await userRow();
      assert.deepEqual([row.first_name, row.last_name], ['Erin', 'Example']);
    });

    const newLogin = unique('erin.e');
    await step(page, 'change alias', async () => {
      await open(page, 'Change Alias', 'change_alias', 'Change your login');
      await page.getByLabel('New login').fill(newLogin);
      await screenshot(page, '60-portal-action-08-change-alias');
      await submit(page, 'Save login');
      await dashboardWith(page, `Your login is now ${newLogin}.`);
      assert.equal((await userRow()).login, newLogin);
    });

    await step(page, 'change password', async () => {
      await open(page, 'Change Password', 'change_password', 'Change your password');
      await page.getByLabel('Current password').fill(PASSWORD);
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('New password again').fill(NEW_PASSWORD);
      await screenshot(page, '60-portal-action-09-change-password');
      await submit(page, 'Change password');
      await dashboardWith(page, 'Your password was changed.');
      assert.ok(await verifyPassword((await userRow()).password_hash, NEW_PASSWORD), 'the new password is stored');
      await sink().waitFor((m) => m.to.includes(email) && m.subject === 'Your password was changed', 15_000);
    });

    const newEmail = `${unique('erin.new')}@example.test`;
    await step(page, 'change email', async () => {
      await open(page, 'Change Email', 'change_email', 'Change your email address');
      await page.getByLabel('New email address').fill(newEmail);
      await screenshot(page, '60-portal-action-10-change-email');
      await submit(page, 'Send code');
      await flash(page, 'We sent a code to the new address.');
      await page.getByText(`We sent a 6-digit code to ${newEmail}`, { exact: false }).waitFor();
      const mail = await sink().waitFor((m) => m.to.includes(newEmail), 15_000);
      const code = mail.text.match(/\b(\d{6})\b/)?.[1] ?? assert.fail(`no code in the mail: ${mail.text}`);
      assert.equal((await userRow()).email, email, 'unchanged until the code is entered');
      await page.getByLabel('Code', { exact: true }).fill(code);
      await screenshot(page, '60-portal-action-11-change-email-code');
      await submit(page, 'Confirm');
      await dashboardWith(page, 'Your email address was changed.');
      assert.equal((await userRow()).email, newEmail);
      assert.match((await page.getByRole('region', { name: 'Profile' }).textContent()) ?? '', new RegExp(newEmail.replace(/\./g, '\\.')));
      const old = await sink().waitFor((m) => m.to.includes(email) && m.subject === 'Your email address was changed', 15_000);
      assert.match(old.text, /now go to the new address/, 'the old address is told');
    });

    const newPhone = `+1415555${String(1000 + ((Number(phone.slice(-4)) + 1) % 9000))}`;
    await step(page, 'change phone', async () => {
      await open(page, 'Change Phone', 'change_phone', 'Change your phone number');
      await page.getByLabel('New phone number').fill(newPhone);
      await screenshot(page, '60-portal-action-12-change-phone');
      await submit(page, 'Send code');
      await flash(page, 'We sent a code by SMS to the new number.');
      const sms = await db('messages').where({ tenant_id: tenant.tenantId, recipient: newPhone }).first();
      assert.equal(sms?.channel, 'sms', 'the code goes by SMS through the Outbox');
      const code = sms.body_text.match(/\b(\d{6})\b/)?.[1] ?? assert.fail(`no code in the SMS: ${sms.body_text}`);
      await page.getByLabel('Code', { exact: true }).fill(code);
      await submit(page, 'Confirm');
      await dashboardWith(page, 'Your phone number was changed.');
      assert.equal((await userRow()).phone, newPhone);
    });

    // ---- 6. Tokens: sync, reissue, claim, PIN, unassign, backup codes ----
    await step(page, 'token sync', async () => {
      await open(page, 'Token Synchronization', 'sync_token', 'Synchronise a token');
      await page.getByLabel(/^Key fob/).check();
      await page.getByLabel('First code').fill(hotp(200));
      await page.getByLabel('Next code').fill(hotp(201));
      await screenshot(page, '60-portal-action-13-token-sync');
      await submit(page, 'Synchronise');
      await dashboardWith(page, 'Key fob is synchronised.');
      assert.equal(Number((await tokenRow(fob.token.id)).hotp_counter), 202, 'the counter follows the two codes');
    });

    await step(page, 'reissue token', async () => {
      await open(page, 'Reissue Token', 'reissue_token', 'Reissue a token');
      await screenshot(page, '60-portal-action-14-reissue');
      const before = await tokenRow(fob.token.id);
      await submit(page, 'Reissue Key fob');
      await heading(page, 'Your new key for Key fob');
      const key = ((await page.locator('#manual-key').textContent()) ?? '').replace(/\s+/g, '');
      assert.match(key, /^[A-Z2-7]{32}$/);
      assert.notEqual(key, base32Encode(SEED), 'a new key');
      await assertNoHorizontalScroll(page, 'New key page');
      await screenshot(page, '60-portal-action-15-reissue-key');
      // Leave without confirming: the old key still works, and the Reissue page offers to finish.
      await page.getByRole('link', { name: 'Back to the portal' }).click();
      await page.waitForURL((u) => u.pathname === base);
      await open(page, 'Reissue Token', 'reissue_token', 'Reissue a token');
      await page.getByRole('button', { name: 'Start again with another key Key fob' }).waitFor();
      await page.getByLabel('Code from the new entry in your app').fill(await oathtool('--hotp', '-b', key, '--counter=0'));
      await screenshot(page, '60-portal-action-15b-reissue-pending');
      await submit(page, 'Confirm the new key');
      await dashboardWith(page, 'Key fob now uses its new key; the old one no longer works.');
      const after = await tokenRow(fob.token.id);
      assert.notEqual(after.seed_sealed, before.seed_sealed, 'the seed was replaced');
      assert.equal(after.pending_seed_sealed, null);
    });

    await step(page, 'assign token', async () => {
      await open(page, 'Assign Existing Token', 'assign_token', 'Use an existing token here');
      await page.getByLabel('Serial number').fill(hwSerial);
      await page.getByLabel('Code shown on the token').fill(await hotpCode(HW_SEED.toString('hex'), { algorithm: 'SHA1', digits: 6, counter: 0 }));
      await assertNoHorizontalScroll(page, 'Assign token');
      await screenshot(page, '60-portal-action-16-assign');
      await submit(page, 'Add the token');
      await dashboardWith(page, `${hwSerial} is now yours and works in this portal.`);
      await page.getByRole('region', { name: 'Your tokens here' }).getByText(hwSerial).first().waitFor();
      const row = await tokenRow(hw.token.id);
      assert.equal(row.user_id, user.id, 'the hardware token is the user\'s');
      assert.ok(await assigned(hw.token.id), 'and works here');
    });

    await step(page, 'configure pin', async () => {
      await open(page, 'Configure PIN', 'configure_pin', 'Configure a PIN');
      await page.getByLabel(/^Phone app/).check();
      await page.getByLabel('New PIN', { exact: true }).fill('482915');
      await page.getByLabel('New PIN again').fill('482915');
      await assertNoHorizontalScroll(page, 'Configure PIN');
      await screenshot(page, '60-portal-action-17-pin');
      const phone = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
      await phone.context.addCookies(await watched.context.cookies());
      await phone.page.goto(`${base}actions/configure_pin`);
      await heading(phone.page, 'Configure a PIN');
      await assertNoHorizontalScroll(phone.page, 'Configure PIN on a phone');
      await screenshot(phone.page, '60-portal-action-phone-pin');
      await phone.context.close();
      assertClean(phone, 'phone PIN');
      await submit(page, 'Save PIN');
      await dashboardWith(page, 'The PIN of Phone app is saved. Type it together with the code from now on.');
      assert.match((await tokenRow(totpToken.id)).pin_hash ?? '', /^\$argon2id\$/, 'the PIN is stored hashed');
    });

    await step(page, 'unassign token', async () => {
      await open(page, 'Unassign Token', 'unassign_token', 'Remove a token from this portal');
      await assertNoHorizontalScroll(page, 'Unassign token');
      await screenshot(page, '60-portal-action-18-unassign');
      await submit(page, `Remove ${hwSerial}`);
      await dashboardWith(page, `${hwSerial} was removed from this portal.`);
      assert.equal(await assigned(hw.token.id), undefined, 'no longer assigned here');
      assert.equal((await tokenRow(hw.token.id)).user_id, user.id, 'the token stays the user\'s');
      assert.equal(await page.getByRole('region', { name: 'Your tokens here' }).getByText(hwSerial).count(), 0);
    });

    await step(page, 'enroll backup codes', async () => {
      await open(page, 'Enroll Token', 'enroll_token', 'Enroll a token');
      await page.getByRole('link', { name: 'Backup codes', exact: true }).click();
      await page.waitForURL((u) => u.pathname === `${base}actions/enroll_token/backup_codes`);
      await heading(page, 'Backup codes');
      await submit(page, 'Start');
      await heading(page, 'Backup codes: confirm your new token');
      const codes = (await page.locator('#backup-codes code').allTextContents()).map((c) => c.trim());
      assert.equal(codes.length, 10, 'ten codes are shown');
      await assertNoHorizontalScroll(page, 'Backup codes');
      await screenshot(page, '60-portal-action-19-backup-codes');
      await page.getByLabel('One of your backup codes').fill(codes[0]);
      await submit(page, 'Confirm');
      const token = await db('tokens').where({ user_id: user.id, type: 'backup_codes' }).first();
      // Unnamed: the kind and the end of the serial (issue 15 §6).
      assert.match(token?.name ?? '', /^Backup codes [A-Z0-9]{4}$/);
      await dashboardWith(page, `Your token "${token.name}" is ready: use it the next time you sign in.`);
      assert.equal(token?.enabled, true);
      assert.equal((await db('token_backup_codes').where({ token_id: token.id }).whereNotNull('used_at')).length, 1, 'the confirming code is spent');
      await screenshot(page, '60-portal-action-20-dashboard-after');
    });

    const actions = await db('audit_events').where({ tenant_id: tenant.tenantId, actor_type: 'user', actor_id: user.id }).distinct('action').pluck('action');
    for (const action of ['portal.profile.name_change', 'portal.profile.alias_change', 'portal.profile.password_change', 'portal.profile.email_change', 'portal.profile.phone_change', 'token.resync', 'token.reissue', 'portal.token.claim', 'token.pin.set', 'resource.token.unassign', 'portal.token.enroll']) {
      assert.ok(actions.includes(action), `${action} is audited (audited: ${actions.join(', ')})`);
    }
    assertClean(watched, 'every action');
  });
});
