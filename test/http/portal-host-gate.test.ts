/**
 * A portal host serves its portal and static files only (issue "Security and reliability
 * hardening", finding C): on `{address}.{PORTAL_DOMAIN}`, and on any other host under the portal
 * domain, the JSON API (with a valid key), /healthz, /readyz, /metrics and the console answer 404;
 * on the service's own host they keep answering.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { unique } from '../helpers/factories';
import { createPortalWorld, type PortalWorld } from '../helpers/portal';

describe('portal hosts serve only their portal (PORTAL_DOMAIN=localhost)', () => {
  let ctx: TestContext;
  let w: PortalWorld;
  before(async () => {
    ctx = await createTestContext({ PORTAL_DOMAIN: 'localhost' });
    w = await createPortalWorld(ctx);
  });
  after(() => ctx.close());

  const auth = () => ({ Authorization: `Bearer ${w.tenant.apiKey}` });
  const portalHosts = () => [`${w.portal.address}.localhost`, `${w.portal.address.toUpperCase()}.LOCALHOST:3000`, `${unique('nowhere')}.localhost`, `deep.${w.portal.address}.localhost`];

  it('the JSON API answers 404 on portal hosts, even with a valid key, and changes nothing', async () => {
    for (const host of portalHosts()) {
      const login = unique('gate');
      const requests: [string, request.Test][] = [
        ['openapi', request(ctx.app).get('/api/v1/openapi.json')],
        ['list users', request(ctx.app).get('/api/v1/users').set(auth())],
        ['create user', request(ctx.app).post('/api/v1/users').set(auth()).send({ login })],
        ['authenticate', request(ctx.app).post(`/api/v1/resources/${w.portal.resource.id}/authenticate`).set(auth()).send({ login, otp: '123456' })],
      ];
      for (const [what, req] of requests) {
        const res = await req.set('Host', host);
        assert.equal(res.status, 404, `${host} ${what}: ${res.status} ${res.text.slice(0, 200)}`);
        assert.doesNotMatch(res.text, /"items"|"openapi"|"result"/, host);
      }
      assert.equal((await ctx.services.db('users').where({ tenant_id: w.tenant.tenantId, login })).length, 0, `${host}: no user created`);
    }
  });

  it('/healthz, /readyz, /metrics and the console answer 404 on portal hosts; static files are served', async () => {
    for (const host of portalHosts()) {
      for (const path of ['/healthz', '/readyz', '/metrics', '/admin/sign-in', '/signup']) {
        const res = await request(ctx.app).get(path).set('Host', host);
        assert.equal(res.status, 404, `${host} ${path}: ${res.status} ${res.text.slice(0, 200)}`);
        assert.doesNotMatch(res.text, /process_cpu|"status"|name="password"/, `${host} ${path}`);
      }
      assert.equal((await request(ctx.app).get('/static/app.css').set('Host', host)).status, 200, `${host} static`);
    }
    // The portal itself is there, on its own host only.
    assert.equal((await request(ctx.app).get('/').set('Host', `${w.portal.address}.localhost`)).status, 200);
    assert.equal((await request(ctx.app).get('/').set('Host', `deep.${w.portal.address}.localhost`)).status, 404);
  });

  it('the service\'s own hosts keep the API, health, metrics and console', async () => {
    for (const host of ['localhost', 'localhost:3000', '127.0.0.1:3000', 'mfa.example.test']) {
      assert.equal((await request(ctx.app).get('/api/v1/users').set(auth()).set('Host', host)).status, 200, `${host} api`);
      assert.equal((await request(ctx.app).get('/healthz').set('Host', host)).status, 200, `${host} healthz`);
      assert.equal((await request(ctx.app).get('/readyz').set('Host', host)).status, 200, `${host} readyz`);
      assert.equal((await request(ctx.app).get('/metrics').set('Host', host)).status, 200, `${host} metrics`);
      assert.equal((await request(ctx.app).get('/admin/sign-in').set('Host', host)).status, 200, `${host} console`);
      assert.equal((await request(ctx.app).get(w.portal.base).set('Host', host)).status, 200, `${host} portal by path`);
    }
  });
});

describe('without PORTAL_DOMAIN no host is a portal host', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('the API and health answer on any host', async () => {
    const w = await createPortalWorld(ctx);
    assert.equal((await request(ctx.app).get('/api/v1/users').set('Authorization', `Bearer ${w.tenant.apiKey}`).set('Host', `${w.portal.address}.localhost`)).status, 200);
    assert.equal((await request(ctx.app).get('/healthz').set('Host', `${w.portal.address}.localhost`)).status, 200);
  });
});
