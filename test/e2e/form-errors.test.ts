/**
 * Issue 15 §10 in a real browser: an empty sign-up names every field at once; the error summary
 * takes focus and its links move focus to their field. Desktop and phone; screenshots 81-*.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PHONE_VIEWPORT, assertNoHorizontalScroll, focusedElement, screenshot, stepper, useBrowser } from '../helpers/browser';

const step = stepper('81-form-errors-');

describe('issue 15 §10: error summary', () => {
  const b = useBrowser();

  it('sign-up: all fields at once, the summary focused, links focus their field', { timeout: 90_000 }, async () => {
    for (const [viewport, name] of [[undefined, 'desktop'], [PHONE_VIEWPORT, 'phone']] as const) {
      const watched = await b.newPage(viewport ? { viewport, isMobile: true } : {});
      const { page } = watched;
      await step(page, `sign-up-${name}`, async () => {
        await page.goto('/signup');
        await page.getByLabel('Your email').fill('not-an-email');
        await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Create organisation' }).click()]);
        const summary = page.locator('#error-summary');
        await summary.waitFor();
        assert.equal(await summary.getByRole('link').count(), 3, 'organisation, email and password are named at once');
        assert.equal(await focusedElement(page), 'div#error-summary');
        await screenshot(page, `81-form-errors-sign-up-${name}`);
        await summary.getByRole('link', { name: 'Choose a password.' }).click();
        assert.equal(await focusedElement(page), 'input#f-password');
        await summary.getByRole('link').first().click();
        assert.equal(await focusedElement(page), 'input#f-organisation');
        await assertNoHorizontalScroll(page, `sign-up errors (${name})`);
        // The 422 itself is logged by the browser; anything else is a fault.
        assert.deepEqual(watched.errors.filter((e) => !/status of 422/.test(e)), [], `no CSP violation or script error (${name})`);
      });
    }
  });
});
