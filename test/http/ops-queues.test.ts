/**
 * /ops/queues through HTTP (issue 13 §4): absent without operator credentials in configuration,
 * HTTP Basic with the configured ones only (a console session is no operator), the in-process page
 * without Redis, and cross-site changes refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant } from '../helpers/factories';
import { signIn } from '../helpers/admin-agent';

const OPS = { username: 'operator', password: 'a long operator password for tests' };
const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

describe('operators: /ops/queues', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext({ OPS_USERNAME: OPS.username, OPS_PASSWORD: OPS.password });
  });
  after(() => ctx.close());

  it('does not exist when OPS_USERNAME and OPS_PASSWORD are not set', async () => {
    const plain = await createTestContext();
    try {
      assert.equal((await request(plain.app).get('/ops/queues')).status, 404);
      assert.equal((await request(plain.app).get('/ops/queues').set('Authorization', basic(OPS.username, OPS.password))).status, 404);
    } finally {
      await plain.close();
    }
  });

  it('answers 401 with a Basic challenge without or with wrong credentials', async () => {
    for (const header of [undefined, basic(OPS.username, 'wrong password of some length'), basic('admin', OPS.password), basic(OPS.username, ''), 'Basic !!!', `Bearer ${OPS.password}`]) {
      const req = request(ctx.app).get('/ops/queues');
      const res = await (header ? req.set('Authorization', header) : req);
      assert.equal(res.status, 401, String(header));
      assert.equal(res.headers['www-authenticate'], 'Basic realm="MFA operators", charset="UTF-8"');
      assert.match(res.text, /Operator credentials required/);
      assert.equal(res.headers['cache-control'], 'no-store');
    }
  });

  it('a signed-in console owner is no operator', async () => {
    const owner = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, owner);
    assert.equal((await agent.get('/admin/resources')).status, 200, 'the session works in the console');
    assert.equal((await agent.get('/ops/queues')).status, 401);
  });

  it('without Redis, says jobs run in-process and shows their counts', async () => {
    await ctx.services.messages.send(null, { recipient: 'ops@example.test', subject: 'counted', bodyText: 'x' });
    const res = await request(ctx.app).get('/ops/queues').set('Authorization', basic(OPS.username, OPS.password));
    assert.equal(res.status, 200);
    assert.match(res.text, /jobs run inside the web process/);
    for (const queue of ['email', 'provisioning', 'audit']) assert.match(res.text, new RegExp(`<th scope="row">${queue}</th>`));
    assert.match(res.text, /<caption>Jobs per queue in this process<\/caption>/);
    assert.match(res.text, /name="viewport"/);
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
  });

  it('refuses changes a browser sends from another site', async () => {
    const auth = basic(OPS.username, OPS.password);
    const res = await request(ctx.app).put('/ops/queues/api/queues/email/retry/failed').set('Authorization', auth).set('Sec-Fetch-Site', 'cross-site');
    assert.equal(res.status, 403);
    assert.match(res.text, /from the dashboard itself only/);
  });
});
