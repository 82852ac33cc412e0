/**
 * Issue 15 §12, §13 in a real browser: the console home and a resource's Activity tab (SVG charts
 * with table alternatives) on desktop and phone, checked by axe-core through screenshot(); and the
 * axe check itself fails on a serious violation. Screenshots 82-*.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PHONE_VIEWPORT, assertAccessible, assertClean, assertNoHorizontalScroll, screenshot, stepper, useBrowser, signInToConsole } from '../helpers/browser';
import { addAdmin, createResource, createTenant, createUser } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';

const step = stepper('82-');
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');

describe('issue 15 §12, §13: charts, home, accessibility', () => {
  const b = useBrowser();

  it('home and Activity tab on desktop and phone, accessible, with the table alternative', { timeout: 120_000 }, async () => {
    const s = b.ctx.services;
    const owner = await createTenant(s);
    const resource = await createResource(s, owner, { name: 'Corporate VPN', failedAttemptsLimit: 3 });
    const user = await createUser(s, owner, { login: 'erin' });
    await s.users.assign(owner.actor, resource.id, user.id);
    const { token } = await s.tokens.create(owner.actor, { type: 'hotp', userId: user.id, secret: base32Encode(SEED), counter: 0 });
    await s.tokens.assignToResource(owner.actor, resource.id, token.id);
    const api = apiClient(b.ctx.app, owner.apiKey);
    for (let i = 0; i < 3; i++) await api.post(`/resources/${resource.id}/authenticate`, { login: user.login, otp: generateHotp(SEED, i, { algorithm: 'SHA1', digits: 6 }) });
    for (let i = 0; i < 3; i++) await api.post(`/resources/${resource.id}/authenticate`, { login: user.login, otp: '000000' });

    const admins = { desktop: owner, phone: await addAdmin(s, owner, 'auditor') };
    for (const [viewport, name] of [[undefined, 'desktop'], [PHONE_VIEWPORT, 'phone']] as const) {
      const watched = await b.newPage(viewport ? { viewport, isMobile: true } : {});
      const { page } = watched;
      await step(page, `home-${name}`, async () => {
        await signInToConsole(page, admins[name]);
        await page.getByRole('link', { name: 'Home' }).click();
        await page.getByRole('heading', { level: 1, name: 'At a glance' }).waitFor();
        assert.equal(await page.locator('[data-count="successes"]').textContent(), '3');
        assert.equal(await page.locator('#recent-locks').getByRole('link', { name: 'erin' }).count(), 1);
        await assertNoHorizontalScroll(page, `home (${name})`);
        await screenshot(page, `82-home-${name}`);

        await page.goto(`/admin/resources/${resource.id}/users`);
        await page.getByRole('navigation', { name: 'Resource sections' }).getByRole('link', { name: 'Activity' }).click();
        await page.waitForURL(/\/activity$/);
        const hourly = page.locator('#chart-hourly');
        await hourly.waitFor();
        assert.match((await hourly.locator('.auth-totals').textContent()) ?? '', /Successes: 3 · Failures: 3 · Locks: 1/);
        assert.equal(await hourly.getByRole('img').count(), 1);
        await hourly.getByText('as a table').click();
        assert.equal(await hourly.locator('tbody tr').count(), 24);
        await assertNoHorizontalScroll(page, `activity (${name})`);
        await screenshot(page, `82-activity-${name}`);

        // §9: the Users tab's status column for the locked member.
        await page.getByRole('navigation', { name: 'Resource sections' }).getByRole('link', { name: 'Users' }).click();
        await page.waitForURL(/\/users$/);
        for (const label of ['Settings', 'Users', 'Self-Service', 'Activity']) {
          const tab = page.getByRole('navigation', { name: 'Resource sections' }).getByRole('link', { name: label });
          assert.ok(await tab.evaluate((el) => el.getBoundingClientRect().right <= window.innerWidth), `the "${label}" tab is whole on screen (${name})`);
        }
        const row = page.getByRole('row').filter({ hasText: 'erin' });
        assert.match((await row.locator('.user-lock').textContent()) ?? '', /Locked/);
        assert.equal((await row.locator('.user-tokens').textContent())?.trim(), '1');
        await assertNoHorizontalScroll(page, `users tab (${name})`);
        await screenshot(page, `82-users-status-${name}`);
        assertClean(watched, name);
      });
    }
  });

  it('the axe check fails on a serious violation and names it', { timeout: 60_000 }, async () => {
    const { page } = await b.newPage();
    await page.setContent('<!doctype html><html lang="en"><head><title>t</title></head><body><main><h1>x</h1><form><input id="nolabel"></form></main></body></html>');
    await assert.rejects(assertAccessible(page, 'a form without labels'), /axe-core: \d+ serious\/critical .*\n- \[critical\] label: /);
  });
});
