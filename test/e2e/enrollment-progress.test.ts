/**
 * Enrolment progress (issue 12 §4) in a real browser, at desktop and phone widths: the Users tab
 * with its progress bar, chart and table alternative; the status filter swapping the tab through
 * htmx with the URL updated; the CSV download. No CSP violation, no script error, no sideways scroll.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DESKTOP_VIEWPORT, PHONE_VIEWPORT, assertClean, assertNoHorizontalScroll, screenshot, stepper, useBrowser, signInToConsole } from '../helpers/browser';
import { createResource, createTenant } from '../helpers/factories';
import { memberIn, type MemberState } from '../helpers/enrollment-states';

const step = stepper('enrollment-progress-');

describe('enrolment progress in a real browser', () => {
  const b = useBrowser();

  it('shows progress, chart and filter on desktop and phone, and downloads the filtered CSV', { timeout: 120_000 }, async () => {
    const owner = await createTenant(b.ctx.services);
    const vpn = await createResource(b.ctx.services, owner, { name: 'Corporate VPN' });
    const states: MemberState[] = ['enrolled', 'enrolled', 'enrolled', 'enrolled', 'invited', 'invited', 'invitation_expired', 'not_invited', 'not_invited', 'not_invited'];
    for (const [i, state] of states.entries()) await memberIn(b.ctx.services, owner, vpn.id, state, { login: `${state.replace('_', '-')}-${i}`, email: `user${i}@example.com`, firstName: 'Sam', lastName: `Member ${i}` });
    // Spread the enrolments over the last days so the chart has a slope.
    const days = [9, 6, 3, 1];
    const enrolled = await b.ctx.services.db('token_resources').where({ resource_id: vpn.id }).orderBy('created_at').select('token_id');
    await b.ctx.services.db('resource_users').where({ resource_id: vpn.id }).update({ created_at: b.ctx.services.db.raw("now() - interval '12 days'") });
    for (const [i, row] of enrolled.entries()) await b.ctx.services.db('token_resources').where({ token_id: row.token_id }).update({ created_at: b.ctx.services.db.raw(`now() - interval '${days[i]} days'`) });

    for (const [label, viewport, isMobile] of [['desktop', DESKTOP_VIEWPORT, false], ['phone', PHONE_VIEWPORT, true]] as const) {
      const watched = await b.newPage({ viewport, isMobile });
      const { page } = watched;
      await step(page, `${label} sign-in`, async () => {
        // Each sign-in needs a fresh TOTP step (a code is accepted once).
        await signInToConsole(page, owner, { waitForNextStep: label === 'phone' });
      });

      await step(page, `${label} tab`, async () => {
        await page.goto(`/admin/resources/${vpn.id}/users`);
        const bar = page.getByRole('progressbar', { name: 'Enrolment progress' });
        assert.equal(await bar.getAttribute('aria-valuetext'), '4 of 10 enrolled (40 %)');
        await page.getByText('4 of 10 enrolled (40 %)').waitFor();
        assert.ok(await page.getByRole('img', { name: /Enrolled users per day/ }).isVisible());
        await page.getByText('Enrolments per day as a table').click();
        const rows = await page.locator('.enrollment-table tbody tr').allTextContents();
        assert.equal(rows.length, 13, 'from the first assignment 12 days ago to today');
        assert.match(rows.at(-1)!, /4$/);
        await assertNoHorizontalScroll(page, `the Users tab (${label})`);
        await screenshot(page, `enrollment-progress-01-tab-${label}`);
      });

      await step(page, `${label} filter`, async () => {
        await page.getByLabel('Enrolment status').selectOption('invited');
        await page.waitForURL(/status=invited/);
        await page.locator('table.list a', { hasText: 'invited-4' }).waitFor();
        const logins = await page.locator('#resource-tabs table.list tbody a[href^="/admin/users/"]').allTextContents();
        assert.deepEqual(logins, ['invited-4', 'invited-5']);
        await assertNoHorizontalScroll(page, `the filtered list (${label})`);
        await screenshot(page, `enrollment-progress-02-filtered-${label}`);
      });

      await step(page, `${label} export`, async () => {
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
        assert.equal(download.suggestedFilename(), 'enrolment-invited.csv');
        const text = await readFile(await download.path(), 'utf8');
        assert.deepEqual(text.replace(/^\uFEFF/, '').trimEnd().split('\r\n').map((l) => l.split(',')[0]), ['login', 'invited-4', 'invited-5']);
      });
      assertClean(watched, `enrolment progress (${label})`);
    }
  });
});
