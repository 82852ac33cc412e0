/**
 * A PostgreSQL outage answers 503 "try again" with Retry-After on every surface, never a 500
 * (issue "Security and reliability hardening", finding B), and /readyz says the database is
 * unreachable. The outage is real: a second app, built like the first with the same secrets,
 * whose DATABASE_URL points at a closed port. The cookies and form tokens come from the live app,
 * so each request reaches the code that needs the database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import request from 'supertest';
import type { Express } from 'express';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, TEST_PASSWORD, type TestTenant } from '../helpers/factories';
import { csrfFrom, signIn } from '../helpers/admin-agent';
import { createPortalWorld, type PortalWorld } from '../helpers/portal';

/** A port nothing listens on: bound by us, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The Cookie header a supertest agent would send (its jar), for a request to another app. */
function cookieHeader(res: request.Response): string {
  const raw = res.headers['set-cookie'] as unknown as string[] | undefined;
  return (raw ?? []).map((line) => line.split(';')[0]).join('; ');
}

function assertUnavailablePage(res: request.Response, what: string): void {
  assert.equal(res.status, 503, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.match(String(res.headers['retry-after']), /^\d+$/, what);
  assert.match(String(res.headers['content-type']), /text\/html/, what);
  assert.match(res.text, /Service unavailable/, what);
  assert.match(res.text, /Try again in a few seconds/, what);
  assert.doesNotMatch(res.text, /ECONNREFUSED|\bat [^\n]*\.(ts|js):\d+/, what);
}

describe('a PostgreSQL outage answers 503 with Retry-After', () => {
  let live: TestContext;
  let down: TestContext;
  let dead: Express;
  let tenant: TestTenant;
  let world: PortalWorld;
  before(async () => {
    live = await createTestContext({ PORTAL_DOMAIN: 'localhost' });
    tenant = await createTenant(live.services);
    world = await createPortalWorld(live, {}, tenant);
    down = await createTestContext({ PORTAL_DOMAIN: 'localhost', DATABASE_URL: `postgres://postgres@127.0.0.1:${await closedPort()}/mfa_down` });
    dead = down.app;
  });
  after(async () => {
    await down.close();
    await live.close();
  });

  it('the API (the validation route included) answers 503, Retry-After and {"error":{"code":"unavailable"}}', async () => {
    const auth = { Authorization: `Bearer ${tenant.apiKey}` };
    for (const res of [
      await request(dead).post(`/api/v1/resources/${world.portal.resource.id}/authenticate`).set(auth).send({ login: 'someone', otp: '123456' }),
      await request(dead).get('/api/v1/users').set(auth),
      await request(dead).post('/api/v1/users').set(auth).send({ login: 'someone' }),
    ]) {
      assert.equal(res.status, 503, res.text);
      assert.match(String(res.headers['retry-after']), /^\d+$/);
      assert.match(String(res.headers['content-type']), /application\/json/);
      assert.equal(res.body.error.code, 'unavailable');
      assert.match(res.body.error.message, /Try again/);
    }
    // The same request on the live app is a plain success: the 503 is the outage, not the request.
    assert.equal((await request(live.app).get('/api/v1/users').set(auth)).status, 200);
  });

  it('the console answers a readable 503 page: the sign-in form posted, and a signed-in page', async () => {
    const form = await request(live.app).get('/admin/sign-in');
    const posted = await request(dead).post('/admin/sign-in').set('Cookie', cookieHeader(form)).type('form').send({ _csrf: csrfFrom(form.text), email: tenant.email, password: TEST_PASSWORD });
    assertUnavailablePage(posted, 'sign-in posted');

    const admin = await signIn(live.app, tenant);
    const users = await admin.get('/admin/users');
    assert.equal(users.status, 200);
    const cookie = (admin as unknown as { jar: { getCookies(o: object): { name: string; value: string }[] } }).jar
      .getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false })
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    assertUnavailablePage(await request(dead).get('/admin/users').set('Cookie', cookie), 'signed-in console page');
  });

  it('the portal answers a readable 503 page on both URL forms', async () => {
    assertUnavailablePage(await request(dead).get(world.portal.base), 'portal by path');
    assertUnavailablePage(await request(dead).get('/').set('Host', `${world.portal.address}.localhost`), 'portal by host');
    assert.equal((await request(live.app).get(world.portal.base)).status, 200);
  });

  it('the OpenAPI document declares the 503 (with Retry-After) on every operation', async () => {
    const doc = (await request(live.app).get('/api/v1/openapi.json')).body;
    assert.ok(doc.components.responses.Unavailable.headers['Retry-After']);
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)) {
      if (path === '/openapi.json') continue;
      for (const [method, op] of Object.entries(ops)) assert.deepEqual(op.responses['503'], { $ref: '#/components/responses/Unavailable' }, `${method} ${path}`);
    }
  });

  it('/readyz answers 503 with database: unreachable; /healthz stays up', async () => {
    const ready = await request(dead).get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.checks.database, 'unreachable');
    assert.equal((await request(dead).get('/healthz')).status, 200);
    assert.equal((await request(live.app).get('/readyz')).status, 200);
  });
});
