/**
 * Real-browser flow for tokens and the self-service tab: an admin creates a TOTP token for a user,
 * reads the key from the one-time page, assigns it to a resource, and a code computed from that
 * key passes the validation API; then the admin configures the resource's portal address and
 * opens the generated URL. Fails on any CSP violation or script error; saves screenshots.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { authenticator } from 'otplib';
import { PHONE_VIEWPORT, screenshot, useBrowser } from '../helpers/browser';
import { createResource, createTenant, createUser, unique } from '../helpers/factories';
import { waitUntil } from '../helpers/wait';
import { base32Decode, generateTotp } from '../../src/otp/otp-engine';

describe('tokens and self-service in a real browser', () => {
  const b = useBrowser();

  it('creates a TOTP token whose shown key works, and publishes a portal address', { timeout: 90_000 }, async () => {
    const s = b.ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { name: unique('Wiki') });
    const user = await createUser(s, tenant, { login: unique('alice'), email: 'alice@example.test' });
    await s.users.assign(tenant.actor, resource.id, user.id);
    const watched = await b.newPage();
    const { page } = watched;

    await page.goto('/admin/sign-in');
    await page.getByLabel('Email', { exact: true }).fill(tenant.email);
    await page.getByLabel('Password', { exact: true }).fill(tenant.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/admin\/sign-in\/totp/);
    await page.getByLabel('Code').fill(authenticator.generate(tenant.totpSecret));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/admin\/resources$/);

    await page.goto('/admin/tokens/new');
    await page.getByLabel('Authenticator app, time-based (TOTP)').check();
    await page.getByLabel('Owner (login)').fill(user.login);
    await page.getByLabel('Name (optional)').fill('Work phone');
    await screenshot(page, '20-token-new');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('Shown only this once').waitFor();
    assert.ok(await page.locator('.qr svg').isVisible(), 'QR code shown');
    const key = ((await page.locator('#manual-key').textContent()) ?? '').replace(/\s+/g, '');
    assert.match(key, /^[A-Z2-7]{32}$/);
    await screenshot(page, '21-token-created');
    await page.getByRole('link', { name: 'Continue to the token' }).click();
    await page.waitForURL(/\/admin\/tokens\/[0-9a-f-]{36}$/);
    assert.equal(await page.getByText(key).count(), 0, 'the token page never shows the key');
    await screenshot(page, '22-token-page');

    const token = await s.db('tokens').where({ tenant_id: tenant.tenantId, user_id: user.id }).first();
    await s.tokens.assignToResource(tenant.actor, resource.id, token.id);
    const code = generateTotp(base32Decode(key), Date.now(), { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 });
    const auth = await request(b.ctx.app).post(`/api/v1/resources/${resource.id}/authenticate`).set('Authorization', `Bearer ${tenant.apiKey}`).send({ login: user.login, otp: code });
    assert.deepEqual(auth.body.result, true, 'a code from the shown key passes the validation API');

    const address = unique('wiki').toLowerCase();
    await page.goto(`/admin/resources/${resource.id}/self-service`);
    await page.getByLabel('Self-Service Address').fill(address);
    await page.getByRole('button', { name: 'Save' }).click();
    const url = page.locator('#portal-url');
    await url.waitFor();
    assert.equal((await url.textContent())?.trim(), `http://localhost:3000/portal/${address}/`);
    await screenshot(page, '23-self-service-general');
    await page.getByRole('link', { name: 'Allowed Actions' }).click();
    await page.waitForURL(/\/self-service\/actions$/);
    await page.getByLabel('Enroll Token').check();
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/self-service/actions')),
      page.getByRole('button', { name: 'Save' }).click(),
    ]);
    const saved = await waitUntil(async () => {
      const row = await s.db('resources').where({ id: resource.id }).first();
      return row.allowed_actions.length ? row : undefined;
    }, 5_000, 'the allowed actions to be saved');
    assert.deepEqual(saved.allowed_actions, ['enroll_token']);
    assert.ok(await page.getByLabel('Enroll Token').isChecked(), 'the saved choice shows after the save');
    await screenshot(page, '24-self-service-actions');

    const portal = await page.goto(`/portal/${address}/`);
    assert.equal(portal?.status(), 200);
    await page.getByText(resource.name).first().waitFor();

    const phone = await b.newPage({ viewport: PHONE_VIEWPORT, isMobile: true });
    await phone.context.addCookies(await watched.context.cookies());
    await phone.page.goto(`/admin/resources/${resource.id}/self-service/actions`);
    await screenshot(phone.page, '25-phone-self-service-actions');

    assert.deepEqual(watched.cspViolations(), [], 'no CSP violations');
    assert.deepEqual(watched.errors, [], 'no console or script errors');
    assert.deepEqual(phone.errors, []);
  });
});
