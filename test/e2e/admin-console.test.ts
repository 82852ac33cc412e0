/**
 * The console in a real browser (system Chromium via playwright-core): a new organisation signs
 * up, its owner signs in and enrolls TOTP with a code computed from the secret shown on the page,
 * creates a resource and a user and assigns them. Fields are found by their labels (so the forms
 * are labelled), the sign-in form is walked with the keyboard, every page is screenshotted at
 * desktop and phone widths, and any CSP violation or script error fails the test (the CSP allows
 * no inline script or style, so this proves the pages need none).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { authenticator } from 'otplib';
import { PHONE_VIEWPORT, screenshot, useBrowser, stepper, focusedElement, assertNoHorizontalScroll } from '../helpers/browser';
import { TEST_PASSWORD, addAdmin, createTenant, unique } from '../helpers/factories';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const step = stepper('');

describe('admin console in a real browser', () => {
  const b = useBrowser();

  it('signs up, enrolls TOTP, creates a resource and a user, and assigns them', { timeout: 90_000 }, async () => {
    const watched = await b.newPage();
    const { page } = watched;
    const db = b.ctx.services.db;
    const organisation = unique('Browser Org');
    const email = `${unique('owner')}@example.test`;
    const resourceName = unique('Staff VPN');
    const login = unique('jdoe');
    const htmxRequests: string[] = [];
    // E2E_DEBUG=1 prints every response (method, status, URL, htmx or not) to follow a failure.
    if (process.env.E2E_DEBUG) page.on('response', (r) => console.log('E2E', r.request().method(), r.status(), r.url(), r.request().headers()['hx-request'] ? 'htmx' : ''));
    page.on('request', (req) => {
      if (req.headers()['hx-request'] === 'true') htmxRequests.push(`${req.method()} ${new URL(req.url()).pathname}`);
    });

    await step(page, 'signup', async () => {
      const res = await page.goto('/signup');
      assert.equal(res?.status(), 200);
      const csp = res!.headers()['content-security-policy'] ?? '';
      assert.match(csp, /script-src 'self'(;|$)/, 'CSP allows only same-origin scripts');
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      await page.getByLabel('Organisation name').fill(organisation);
      await page.getByLabel('Your email').fill(email);
      await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
      await screenshot(page, '01-signup');
      await page.getByRole('button', { name: 'Create organisation' }).click();
      await page.waitForURL(/\/admin\/sign-in$/);
      await page.getByText('Your organisation is ready').waitFor();
    });

    await step(page, 'sign-in keyboard', async () => {
      // A full load (not a boosted swap) so autofocus and the tab sequence start from a fresh document.
      await page.goto('/admin/sign-in');
      assert.equal(await focusedElement(page), 'input#f-email', 'Email has focus when the page opens');
      await page.locator('.skip-link').focus();
      const order: string[] = [];
      for (let i = 0; i < 3; i++) {
        await page.keyboard.press('Tab');
        order.push(await focusedElement(page));
      }
      assert.deepEqual(order, ['input#f-email', 'input#f-password', 'button:Continue'], 'Tab goes Email → Password → Continue');
      assert.equal(await page.getByLabel('Email', { exact: true }).getAttribute('autocomplete'), 'username');
      assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('autocomplete'), 'current-password');
    });

    await step(page, 'sign-in', async () => {
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
      await screenshot(page, '02-sign-in');
      // Submit with the keyboard: Tab from Password to Continue, then Enter.
      await page.getByLabel('Password', { exact: true }).focus();
      await page.keyboard.press('Tab');
      assert.equal(await focusedElement(page), 'button:Continue');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/admin\/sign-in\/enroll/);
    });

    await step(page, 'enroll TOTP', async () => {
      await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
      assert.ok(await page.locator('.qr svg').isVisible(), 'QR code is shown');
      const shown = (await page.locator('#totp-secret').textContent()) ?? '';
      assert.match(shown, /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/, 'secret is shown in groups of 4');
      const secret = shown.replace(/\s+/g, '');
      await screenshot(page, '03-enroll-totp');
      const code = page.getByLabel('Code from the app');
      assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
      await code.fill(authenticator.generate(secret));
      await page.getByRole('button', { name: 'Confirm and sign in' }).click();
      await page.waitForURL(/\/admin\/resources$/);
      await page.getByText('Your authenticator app is set up').waitFor();
      const admin = await db('admins').where({ email }).first();
      assert.ok(admin.totp_secret_sealed, 'TOTP secret stored (sealed)');
      await page.getByText('No resources yet.').waitFor();
    });

    let resourceId = '';
    await step(page, 'create resource', async () => {
      await page.getByRole('link', { name: 'New resource' }).click();
      await page.waitForURL(/\/admin\/resources\/new$/);
      await page.getByLabel('Name', { exact: true }).fill(resourceName);
      await page.getByLabel('Description').fill('OpenVPN gateway for staff');
      await page.getByLabel('Failed attempts before lock').fill('4');
      await page.getByLabel('PIN position').selectOption('after');
      await page.getByLabel('Require a second factor').check();
      await screenshot(page, '04-resource-new');
      await page.getByRole('button', { name: 'Create resource' }).click();
      await page.waitForURL(new RegExp(`/admin/resources/${UUID}$`));
      resourceId = page.url().split('/').pop()!;
      await page.getByText(`Resource "${resourceName}" created.`).waitFor();
      assert.equal(await page.getByLabel('Failed attempts before lock').inputValue(), '4');
      const row = await db('resources').where({ id: resourceId }).first();
      assert.equal(row.name, resourceName);
      assert.equal(row.failed_attempts_limit, 4);
      assert.equal(row.pin_position, 'after');
      assert.equal(row.require_second_factor, true);
      await screenshot(page, '05-resource-settings');
    });

    await step(page, 'resources list', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Resources' }).click();
      await page.waitForURL(/\/admin\/resources$/);
      await page.getByRole('link', { name: resourceName }).waitFor();
      await screenshot(page, '06-resources-list');
    });

    let userId = '';
    await step(page, 'create user', async () => {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
      await page.waitForURL(/\/admin\/users$/);
      await page.getByRole('link', { name: /New user/ }).click();
      await page.waitForURL(/\/admin\/users\/new$/);
      await page.getByLabel('Login', { exact: true }).fill(login);
      await page.getByLabel('Email', { exact: true }).fill(`${login}@example.test`);
      await page.getByLabel('Phone', { exact: true }).fill('+15555550123');
      await page.getByLabel('First name', { exact: true }).fill('Jane');
      await page.getByLabel('Last name', { exact: true }).fill('Doe');
      await page.getByLabel(/password/i).fill(TEST_PASSWORD);
      await screenshot(page, '07-user-new');
      await page.getByRole('button', { name: /Create user/ }).click();
      await page.waitForURL((url) => !url.pathname.endsWith('/new'));
      const row = await db('users').whereRaw('lower(login) = lower(?)', [login]).first();
      assert.ok(row, 'user row exists');
      assert.equal(row.first_name, 'Jane');
      assert.equal(row.email, `${login}@example.test`);
      userId = row.id;
    });

    await step(page, 'assign user from the resource users tab', async () => {
      await page.goto(`/admin/resources/${resourceId}`);
      const before = htmxRequests.length;
      await page.getByRole('navigation', { name: 'Resource sections' }).getByRole('link', { name: 'Users' }).click();
      await page.waitForURL(new RegExp(`/admin/resources/${resourceId}/users$`));
      await page.getByText('No users are assigned to this resource yet.').waitFor();
      assert.ok(htmxRequests.slice(before).includes(`GET /admin/resources/${resourceId}/users`), 'the tab was loaded by htmx (scripts run under the CSP)');
      await page.getByLabel('Assign a user by login').fill(login);
      await page.getByRole('button', { name: 'Assign', exact: true }).click();
      await page.getByText(`${login} is assigned to ${resourceName}.`).waitFor();
      assert.match(page.url(), new RegExp(`/admin/resources/${resourceId}/users$`));
      const table = page.locator('#resource-tabs table.list').last();
      await table.getByRole('link', { name: login }).waitFor();
      assert.match((await table.textContent()) ?? '', /Jane Doe/);
      const assignment = await db('resource_users').where({ resource_id: resourceId, user_id: userId }).first();
      assert.ok(assignment, 'assignment stored');
      await screenshot(page, '08-resource-users-assigned');
    });

    await step(page, 'user page shows the assignment', async () => {
      await page.locator('table.list').getByRole('link', { name: login }).click();
      await page.waitForURL(new RegExp(`/admin/users/${userId}$`));
      await page.getByRole('heading', { level: 1, name: login }).waitFor();
      await page.locator('#user-resources table.list').getByRole('link', { name: resourceName }).waitFor();
      await screenshot(page, '09-user-page');
    });

    await step(page, 'phone layout', async () => {
      await page.setViewportSize(PHONE_VIEWPORT);
      await page.goto('/admin/resources');
      await page.getByRole('link', { name: resourceName }).waitFor();
      await assertNoHorizontalScroll(page, 'Resources list');
      await screenshot(page, '10-phone-resources-list');
      await page.goto(`/admin/resources/${resourceId}`);
      await page.getByLabel('Name', { exact: true }).waitFor();
      await assertNoHorizontalScroll(page, 'Resource settings');
      await screenshot(page, '11-phone-resource-settings');
      await page.goto(`/admin/resources/${resourceId}/users`);
      await page.locator('table.list').getByRole('link', { name: login }).waitFor();
      await assertNoHorizontalScroll(page, 'Resource users tab');
      await screenshot(page, '12-phone-resource-users');
      await page.goto(`/admin/users/${userId}`);
      await assertNoHorizontalScroll(page, 'User page');
      await screenshot(page, '13-phone-user-page');
    });

    await step(page, 'phone sign-in (signed out)', async () => {
      const phone = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
      await phone.page.goto('/admin/sign-in');
      await phone.page.getByLabel('Email', { exact: true }).waitFor();
      await assertNoHorizontalScroll(phone.page, 'Sign-in page');
      await screenshot(phone.page, '14-phone-sign-in');
      assert.deepEqual(phone.errors, [], 'no console or page errors on the phone page');
    });

    assert.deepEqual(watched.cspViolations(), [], 'no Content-Security-Policy violations');
    assert.deepEqual(watched.errors, [], 'no console or page errors (a 404 or failed request shows here too)');
  });

  it('five wrong codes lock an admin out with a clear message; an owner unlocks them from the Admins page', { timeout: 90_000 }, async () => {
    const owner = await createTenant(b.ctx.services);
    const colleague = await addAdmin(b.ctx.services, owner, 'admin');
    const signInAs = async (page: import('playwright-core').Page, who: { email: string }) => {
      await page.goto('/admin/sign-in');
      await page.getByLabel('Email', { exact: true }).fill(who.email);
      await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(/\/admin\/sign-in\/totp/);
    };

    const locked = await b.newPage();
    await step(locked.page, 'five wrong codes', async () => {
      await signInAs(locked.page, colleague);
      const wrong = authenticator.generate(colleague.totpSecret) === '000000' ? '111111' : '000000';
      for (let i = 0; i < 4; i += 1) {
        await locked.page.getByLabel(/code/i).fill(wrong);
        await locked.page.getByRole('button', { name: /verify|sign in|continue/i }).click();
        await locked.page.getByRole('alert').filter({ hasText: `${4 - i === 1 ? '1 try is' : `${4 - i} tries are`} left` }).waitFor();
      }
      await screenshot(locked.page, '15-totp-tries-left');
      await locked.page.getByLabel(/code/i).fill(wrong);
      await locked.page.getByRole('button', { name: /verify|sign in|continue/i }).click();
      await locked.page.waitForURL(/\/admin\/sign-in$/);
      await locked.page.getByRole('alert').filter({ hasText: 'Too many wrong codes' }).waitFor();
      await screenshot(locked.page, '16-locked-out');
    });

    const ownerPage = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
    await step(ownerPage.page, 'owner unlocks', async () => {
      const { page } = ownerPage;
      await signInAs(page, owner);
      await page.getByLabel(/code/i).fill(authenticator.generate(owner.totpSecret));
      await page.getByRole('button', { name: /verify|sign in|continue/i }).click();
      await page.waitForURL(/\/admin\/resources/);
      await page.goto('/admin/admins');
      const row = page.getByRole('row').filter({ hasText: colleague.email });
      await row.getByText('Locked', { exact: true }).waitFor();
      await assertNoHorizontalScroll(page, 'Admins page with a locked admin');
      await screenshot(page, '17-phone-admins-locked');
      await row.getByRole('button', { name: `Unlock ${colleague.email}` }).click();
      await page.getByText(`${colleague.email} is unlocked and can sign in again.`).waitFor();
      assert.equal(await row.getByText('Locked', { exact: true }).count(), 0);
    });

    await step(locked.page, 'signs in after the unlock', async () => {
      await signInAs(locked.page, colleague);
      await locked.page.getByLabel(/code/i).fill(authenticator.generate(colleague.totpSecret));
      await locked.page.getByRole('button', { name: /verify|sign in|continue/i }).click();
      await locked.page.waitForURL(/\/admin\/resources/);
    });
    for (const watched of [locked, ownerPage]) {
      assert.deepEqual(watched.cspViolations(), [], 'no Content-Security-Policy violations');
      // A wrong code is answered 401 on purpose; htmx and the browser log that as an error.
      assert.deepEqual(watched.errors.filter((e) => !/\b401\b/.test(e)), [], 'no script errors');
    }
  });
});
