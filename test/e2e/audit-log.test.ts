/**
 * The audit log (issue 13 §3) in a real browser at desktop and phone widths: readable rows, the
 * filter form applied through htmx with the URL updated, Older paging, and the CSV download with
 * the filters. No CSP violation, no script error, no sideways scroll.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { DESKTOP_VIEWPORT, PHONE_VIEWPORT, assertClean, assertNoHorizontalScroll, screenshot, stepper, useBrowser, signInToConsole } from '../helpers/browser';
import { addAdmin, createResource, createTenant, createUser } from '../helpers/factories';

const step = stepper('audit-log-');

describe('audit log in a real browser', () => {
  const b = useBrowser();

  it('filters, pages and exports on desktop and phone', { timeout: 120_000 }, async () => {
    const owner = await createTenant(b.ctx.services);
    // The phone signs in as another admin: a TOTP code is accepted once, so no wait for the next step.
    const auditor = await addAdmin(b.ctx.services, owner, 'auditor');
    const vpn = await createResource(b.ctx.services, owner, { name: 'Corporate VPN' });
    const key = await b.ctx.services.apiKeys.create(owner.actor, { name: 'VPN gateway' });
    const users: Array<{ id: string; login: string }> = [];
    for (const login of ['alice', 'bob', 'carol']) users.push(await createUser(b.ctx.services, owner, { login, email: `${login}@example.com` }));
    await b.ctx.services.users.assign(owner.actor, vpn.id, users[0].id);
    await b.ctx.services.users.block(owner.actor, users[1].id);
    await b.ctx.services.db('audit_events').insert(Array.from({ length: 60 }, (_, i) => ({
      tenant_id: owner.tenantId, actor_type: 'api_key', actor_id: key.key.id, action: 'authenticate', target_type: 'user', target_id: users[i % 3].id,
      resource_id: vpn.id, result: i % 4 === 0 ? 'failure' : 'success', ip: `203.0.113.${i}`, details: JSON.stringify({ login: users[i % 3].login }),
    })));

    for (const [label, viewport, isMobile, admin] of [['desktop', DESKTOP_VIEWPORT, false, owner], ['phone', PHONE_VIEWPORT, true, auditor]] as const) {
      const watched = await b.newPage({ viewport, isMobile });
      const { page } = watched;
      await step(page, `${label} sign-in`, async () => {
        await signInToConsole(page, admin);
      });

      await step(page, `${label} log`, async () => {
        await page.goto('/admin/audit');
        await page.locator('table.list.audit').waitFor();
        const first = await page.locator('table.list.audit tbody tr', { hasText: 'Authentication' }).first().textContent();
        assert.match(first!, /VPN gateway/);
        assert.match(first!, /Corporate VPN/);
        const time = page.locator('table.list.audit tbody tr').first().locator('time');
        const box = await time.boundingBox();
        const lineHeight = await time.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight) || 24);
        assert.ok(box && box.height < lineHeight * 1.5, `the time stays on one line (${box?.height}px)`);
        await assertNoHorizontalScroll(page, `the audit log (${label})`);
        await screenshot(page, `audit-log-01-list-${label}`);
      });

      await step(page, `${label} filter`, async () => {
        await page.getByLabel('Action').selectOption('user.block');
        await page.getByRole('button', { name: 'Filter' }).click();
        await page.waitForURL(/action=user\.block/);
        const rows = await page.locator('table.list.audit tbody tr').allTextContents();
        assert.equal(rows.length, 1);
        assert.match(rows[0], /Blocked user/);
        assert.match(rows[0], /bob/);
        await page.getByLabel('Action').selectOption('authenticate');
        await page.getByLabel('Result').selectOption('failure');
        await page.getByLabel('User (login or id)').fill('alice');
        await page.getByRole('button', { name: 'Filter' }).click();
        await page.waitForURL(/result=failure/);
        const failures = await page.locator('table.list.audit tbody tr').allTextContents();
        assert.equal(failures.length, 5, 'alice is every third of 60 checks; a quarter of those failed');
        assert.ok(failures.every((r) => /Failure/.test(r) && /alice/.test(r)));
        await assertNoHorizontalScroll(page, `the filtered log (${label})`);
        await screenshot(page, `audit-log-02-filtered-${label}`);
      });

      await step(page, `${label} export`, async () => {
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
        assert.match(download.suggestedFilename(), /^audit-log-\d{4}-\d{2}-\d{2}\.csv$/);
        const lines = (await readFile(await download.path(), 'utf8')).replace(/^\uFEFF/, '').trimEnd().split('\r\n');
        assert.equal(lines.length, 6);
        assert.ok(lines.slice(1).every((l) => l.includes(',Authentication,authenticate,User,alice,')));
      });

      await step(page, `${label} paging`, async () => {
        await page.getByRole('link', { name: 'Clear' }).click();
        await page.waitForURL(/\/admin\/audit$/);
        await page.getByRole('link', { name: 'Older' }).click();
        await page.waitForURL(/before=\d+/);
        await page.getByRole('link', { name: 'Newer' }).waitFor();
        await assertNoHorizontalScroll(page, `an older page (${label})`);
        await screenshot(page, `audit-log-03-older-${label}`);
      });
      assertClean(watched, `audit log (${label})`);
    }
  });
});
