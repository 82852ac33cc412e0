/**
 * Importing users in a real browser, on a phone-sized screen: Users → Import users, the file
 * chosen through its labelled input, the self-polling progress fragment to Done, the report of
 * skipped rows and its CSV download. No CSP violation, no script error, no sideways scroll.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PHONE_VIEWPORT, assertClean, assertNoHorizontalScroll, screenshot, stepper, useBrowser, signInToConsole } from '../helpers/browser';
import { createResource, createTenant, unique } from '../helpers/factories';

const step = stepper('user-import-');

describe('user import in a real browser', () => {
  const b = useBrowser();

  it('uploads a CSV on a phone, follows the progress to Done and shows the report with its download', { timeout: 90_000 }, async () => {
    const owner = await createTenant(b.ctx.services);
    const vpn = await createResource(b.ctx.services, owner);
    const watched = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
    const { page } = watched;

    await step(page, 'sign-in', async () => {
      await signInToConsole(page, owner);
    });

    await step(page, 'form', async () => {
      await page.goto('/admin/users');
      await page.getByRole('link', { name: 'Import users' }).click();
      await page.waitForURL(/\/admin\/users\/import$/);
      await assertNoHorizontalScroll(page, 'the import form');
      await screenshot(page, 'user-import-01-form-phone');
    });

    const logins = Array.from({ length: 40 }, () => unique('e2e'));
    await step(page, 'upload and progress', async () => {
      const csv = ['login,email,resources', ...logins.map((l) => `${l},${l}@example.com,${vpn.name}`), 'broken,not-an-email,', `someone,,No such resource`].join('\n');
      await page.getByLabel('CSV file').setInputFiles({ name: 'staff.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await page.getByLabel('Update existing users').check();
      await page.getByRole('button', { name: 'Import' }).click();
      await page.waitForURL(/\/admin\/users\/imports\/[0-9a-f-]{36}$/);
      await page.locator('#import-status').getByText('Done', { exact: true }).waitFor();
      assert.match((await page.locator('#import-count').textContent()) ?? '', /42 of 42 rows processed \(100%\)/);
      await page.getByRole('table', { name: 'Rows skipped' }).waitFor();
      const rows = await page.locator('#import-report tbody tr').allTextContents();
      assert.equal(rows.length, 2);
      assert.match(rows[0], /42\s*email "not-an-email"/);
      assert.match(rows[1], /43\s*unknown resource "No such resource"/);
      await assertNoHorizontalScroll(page, 'the import report');
      await screenshot(page, 'user-import-02-report-phone');
    });

    await step(page, 'download', async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download report (CSV)' }).click()]);
      assert.equal(download.suggestedFilename(), 'staff-report.csv');
    });

    assert.equal((await b.ctx.services.db('users').where({ tenant_id: owner.tenantId }).whereIn('login', logins)).length, 40);
    assertClean(watched, 'user import pages');
  });
});
