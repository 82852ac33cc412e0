/**
 * A real PostgreSQL outage and recovery (finding B): the app runs on a server of the test's own,
 * which is stopped while the app holds pooled connections (they are terminated, 57P01) and then
 * refuses new ones. Every surface answers 503 with Retry-After, the process keeps running, and
 * once the server is back the same app answers again without a restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, type TestTenant } from '../helpers/factories';
import { createPortalWorld, type PortalWorld } from '../helpers/portal';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres';
import { migrate } from '../../src/db/knex';

describe('PostgreSQL stopped and started under a running app', () => {
  let pg: OwnPostgres;
  let ctx: TestContext;
  let tenant: TestTenant;
  let world: PortalWorld;
  before(async () => {
    pg = await startOwnPostgres();
    ctx = await createTestContext({ DATABASE_URL: pg.url, PORTAL_DOMAIN: 'localhost' });
    await migrate(ctx.services.db);
    tenant = await createTenant(ctx.services);
    world = await createPortalWorld(ctx, {}, tenant);
  });
  after(async () => {
    await ctx?.close();
    await pg?.destroy();
  });

  const auth = () => ({ Authorization: `Bearer ${tenant.apiKey}` });

  it('answers 503 with Retry-After while the server is down, and recovers when it is back', async () => {
    // Warm: the pool holds open connections when the server goes away.
    await Promise.all([1, 2, 3].map(() => request(ctx.app).get('/api/v1/users').set(auth()).expect(200)));
    await pg.stop();

    for (let round = 0; round < 3; round++) {
      const api = await request(ctx.app).get('/api/v1/users').set(auth());
      assert.equal(api.status, 503, `round ${round}: ${api.text}`);
      assert.equal(api.body.error.code, 'unavailable');
      assert.match(String(api.headers['retry-after']), /^\d+$/);
      const check = await request(ctx.app).post(`/api/v1/resources/${world.portal.resource.id}/authenticate`).set(auth()).send({ login: 'someone', otp: '123456' });
      assert.equal(check.status, 503, check.text);
      const portal = await request(ctx.app).get(world.portal.base);
      assert.equal(portal.status, 503);
      assert.match(portal.text, /Service unavailable/);
      assert.equal((await request(ctx.app).get('/readyz')).body.checks.database, 'unreachable');
    }

    await pg.start();
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      status = (await request(ctx.app).get('/api/v1/users').set(auth())).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(status, 200, 'the API answers again once PostgreSQL is back');
    assert.equal((await request(ctx.app).get(world.portal.base)).status, 200);
    assert.equal((await request(ctx.app).get('/readyz')).status, 200);
  });
});
