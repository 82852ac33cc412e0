/**
 * Admins limited to selected resources (issue 12 §5) in a real browser at phone width: the owner
 * limits an admin with the Admins page form (labels, radio, checkboxes), and that admin's console
 * shows only the chosen resource, without the tenant-wide Outbox. No CSP violation, no script
 * error, no sideways scroll.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PHONE_VIEWPORT, assertClean, assertNoHorizontalScroll, screenshot, stepper, useBrowser, signInToConsole } from '../helpers/browser';
import { addAdmin, createResource, createTenant } from '../helpers/factories';

const step = stepper('admin-resource-scope-');

describe('admins limited to selected resources in a real browser', () => {
  const b = useBrowser();

  it('the owner limits an admin on a phone; the admin then sees only that resource', { timeout: 120_000 }, async () => {
    const owner = await createTenant(b.ctx.services);
    await createResource(b.ctx.services, owner, { name: 'Corporate VPN' });
    await createResource(b.ctx.services, owner, { name: 'Payroll' });
    const admin = await addAdmin(b.ctx.services, owner, 'admin');

    const ownerPage = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
    await step(ownerPage.page, 'owner sets the limit', async () => {
      const { page } = ownerPage;
      await signInToConsole(page, owner);
      await page.goto('/admin/admins');
      await page.getByRole('link', { name: `Change resources of ${admin.email}` }).click();
      // The form's page must have finished loading: a choice made while it still loads can be
      // reset by the document that replaces it (seen once: the radio back on "All resources").
      await page.waitForURL(/\/admin\/admins\/[^/]+\/resources$/);
      await page.waitForLoadState('load');
      await page.getByRole('radio', { name: 'Only these resources' }).check();
      await page.getByRole('checkbox', { name: 'Corporate VPN' }).check();
      assert.ok(await page.getByRole('radio', { name: 'Only these resources' }).isChecked(), 'the choice is still made before saving');
      await assertNoHorizontalScroll(page, 'the resources form');
      await screenshot(page, 'admin-resource-scope-01-form-phone');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(/\/admin\/admins$/);
      await page.getByText(`${admin.email} now manages 1 resource only.`).waitFor();
      await assertNoHorizontalScroll(page, 'the admins page');
      await screenshot(page, 'admin-resource-scope-02-admins-phone');
      assertClean(ownerPage, 'owner pages');
    });

    const adminPage = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
    await step(adminPage.page, 'limited admin console', async () => {
      const { page } = adminPage;
      await signInToConsole(page, admin);
      await page.getByRole('link', { name: 'Corporate VPN' }).waitFor();
      assert.equal(await page.getByText('Payroll').count(), 0);
      assert.equal(await page.getByRole('link', { name: 'Outbox' }).count(), 0);
      await screenshot(page, 'admin-resource-scope-03-limited-resources-phone');
      assertClean(adminPage, 'limited admin pages');
    });
  });
});
