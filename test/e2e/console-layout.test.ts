/**
 * Issue 15 §8, §11 in a real browser, desktop and phone: the portal URL is a link with a copy
 * button and its label looks like the other labels; the Save button keeps a gap under the last
 * checkbox; the Self-Service sub-tabs show their whole labels on a phone; the portal's enrol page
 * gives every token type an equally wide button and a description; the trusted-browser rename box
 * has room. Screenshots: 80-layout-*.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { PHONE_VIEWPORT, assertClean, assertNoHorizontalScroll, screenshot, stepper, useBrowser, signInToConsole } from '../helpers/browser';
import { addAdmin, createTenant, createUser, unique } from '../helpers/factories';
import { createPortal } from '../helpers/portal';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';
import { ENROLLMENT_TYPE_IDS } from '../../src/selfservice/self-service.types';

const step = stepper('80-layout-');
const PASSWORD = 'a long portal passphrase';
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');

const box = async (page: Page, selector: string) => (await page.locator(selector).first().boundingBox()) ?? assert.fail(`${selector} is not visible`);

describe('issue 15 §8, §11: console and portal layout', () => {
  const b = useBrowser();

  it('console: portal URL link and label, Save gap, sub-tabs readable on a phone', { timeout: 120_000 }, async () => {
    const owner = await createTenant(b.ctx.services);
    const portal = await createPortal(b.ctx.services, owner, { enrollmentTokenTypes: ['totp'] });
    const base = `/admin/resources/${portal.resource.id}/self-service`;
    // A second admin for the phone: the owner's TOTP code of this step is spent (SEC-05).
    const admins = { desktop: owner, phone: await addAdmin(b.ctx.services, owner, 'admin') };
    for (const [viewport, name] of [[undefined, 'desktop'], [PHONE_VIEWPORT, 'phone']] as const) {
      const watched = await b.newPage(viewport ? { viewport, isMobile: true } : {});
      const { page } = watched;
      await step(page, `self-service-${name}`, async () => {
        await signInToConsole(page, admins[name]);
        await page.goto(base);
        const link = page.getByRole('link', { name: new RegExp(`/portal/${portal.address}/`) });
        assert.equal(await link.getAttribute('href'), `http://localhost:3000/portal/${portal.address}/`);
        assert.equal(await page.getByRole('button', { name: 'Copy the portal address' }).count(), 1);
        const weights = await page.evaluate(() => [document.querySelector('.field p.label'), document.querySelector('.field label')].map((el) => el && getComputedStyle(el).fontWeight));
        assert.equal(weights[0], weights[1], 'the URL label has the weight of the other labels');
        await screenshot(page, `80-layout-self-service-general-${name}`);

        await page.goto(`${base}/enrollment`);
        const lastBox = (await page.locator('#self-service-enrollment .choice').last().boundingBox())!;
        const save = await box(page, '#self-service-enrollment button[type=submit]');
        assert.ok(save.y - (lastBox.y + lastBox.height) >= 12, `Save sits ${save.y - (lastBox.y + lastBox.height)}px under the last checkbox`);
        for (const label of ['General', 'Allowed Actions', 'Token Enrollment']) {
          const tab = page.getByRole('navigation', { name: 'Self-Service sections' }).getByRole('link', { name: label });
          const fits = await tab.evaluate((el) => el.scrollWidth <= el.clientWidth && el.getBoundingClientRect().right <= window.innerWidth);
          assert.ok(fits, `the "${label}" sub-tab shows its whole label (${name})`);
        }
        await assertNoHorizontalScroll(page, `self-service enrollment (${name})`);
        await screenshot(page, `80-layout-self-service-enrollment-${name}`);
        assertClean(watched, name);
      });
    }
  });

  it('portal: equal enrol buttons, each with a description; the rename box has room', { timeout: 120_000 }, async () => {
    const s = b.ctx.services;
    const tenant = await createTenant(s);
    const portal = await createPortal(s, tenant, { allowedActions: ['enroll_token', 'manage_environment'], enrollmentTokenTypes: [...ENROLLMENT_TYPE_IDS], resource: { name: unique('Intranet'), maxTokensPerUser: 10 } });
    const user = await createUser(s, tenant, { login: unique('erin'), email: `${unique('erin')}@example.test`, password: PASSWORD });
    await s.users.assign(tenant.actor, portal.resource.id, user.id);
    const fob = await s.tokens.create(tenant.actor, { type: 'hotp', userId: user.id, name: 'Key fob', secret: base32Encode(SEED), counter: 0 });
    await s.tokens.assignToResource(tenant.actor, portal.resource.id, fob.token.id);
    let counter = 0;
    for (const [viewport, name] of [[undefined, 'desktop'], [PHONE_VIEWPORT, 'phone']] as const) {
      const watched = await b.newPage(viewport ? { viewport, isMobile: true } : {});
      const { page } = watched;
      await step(page, `portal-${name}`, async () => {
        await page.goto(portal.base);
        await page.getByLabel('Login or email').fill(user.login);
        await page.getByRole('button', { name: 'Continue', exact: true }).click();
        await page.waitForURL((u) => u.pathname === `${portal.base}sign-in/verify`);
        await page.getByLabel('Password or emailed code').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.waitForURL((u) => u.pathname === `${portal.base}sign-in/second-factor`);
        await page.getByLabel('Code', { exact: true }).fill(generateHotp(SEED, counter++, { algorithm: 'SHA1', digits: 6 }));
        await page.getByRole('button', { name: 'Verify', exact: true }).click();
        await page.waitForURL((u) => u.pathname === portal.base);

        await page.goto(`${portal.base}actions/enroll_token`);
        const choices = page.locator('.enroll-choice');
        assert.equal(await choices.count(), ENROLLMENT_TYPE_IDS.length);
        const widths = new Set<number>();
        for (const c of await choices.all()) {
          const button = c.locator('a.button');
          if (await button.count()) widths.add(Math.round((await button.boundingBox())!.width));
          assert.ok(((await c.locator('p.muted').last().textContent()) ?? '').trim().length > 20, 'every token type has a description');
        }
        assert.equal(widths.size, 1, `enrol buttons have one width, saw ${[...widths].join(', ')}`);
        await assertNoHorizontalScroll(page, `enrol page (${name})`);
        await screenshot(page, `80-layout-portal-enroll-${name}`);

        await page.goto(`${portal.base}actions/manage_environment`);
        await page.getByLabel('Name for this browser').fill(`Laptop ${name}`);
        await page.getByRole('button', { name: 'Trust this browser' }).click();
        const input = page.getByLabel(new RegExp(`New name for Laptop ${name}`));
        await input.waitFor();
        assert.ok((await input.boundingBox())!.width >= 120, `the rename box is ${(await input.boundingBox())!.width}px wide`);
        await assertNoHorizontalScroll(page, `trusted browsers (${name})`);
        await screenshot(page, `80-layout-portal-environments-${name}`);
        assertClean(watched, name);
      });
    }
  });
});
