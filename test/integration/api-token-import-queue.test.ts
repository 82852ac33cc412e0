/**
 * Token imports through the API, queued in Redis and run by the real BullMQ worker (the worker
 * process's code, started in this process) under a queue prefix of this file's own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, unique, type TestTenant } from '../helpers/factories';
import { testRedisUrl } from '../helpers/env';
import { waitUntil } from '../helpers/wait';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { apiClient } from '../helpers/api-client';
import { buildCsv, randomSeeds } from '../helpers/token-files';
import { buildPreSharedPskc } from '../helpers/pskc-preshared';
import { startBullWorkers, type BullWorkers } from '../../src/jobs/bull-transport';

describe('api token imports through BullMQ and the worker', () => {
  let ctx: TestContext;
  let workers: BullWorkers | undefined;

  before(async () => {
    ctx = await createTestContext({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: unique('ti') });
  });
  after(async () => {
    await workers?.close();
    await ctx.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  async function finished(tenant: TestTenant, id: string) {
    return waitUntil(async () => {
      const res = await apiClient(ctx.app, tenant.apiKey).get(`/token-imports/${id}`);
      assert.equal(res.status, 200, res.text);
      return res.body.status === 'done' || res.body.status === 'failed' ? res.body : undefined;
    }, 20_000, `import ${id} to finish`);
  }

  it('waits in Redis until a worker runs it, then reports created tokens and the row whose serial was taken meanwhile', async () => {
    assert.equal(ctx.services.queue.mode, 'bullmq');
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const specs = randomSeeds(1500, 'REDIS');
    const res = await request(ctx.app).post('/api/v1/token-imports').set('Authorization', `Bearer ${tenant.apiKey}`).set('Content-Type', 'text/csv').send(buildCsv(specs));
    assert.equal(res.status, 202, res.text);
    const id = res.body.id;
    assert.equal((await ctx.services.queue.counts()).provisioning.waiting, 1, 'the job waits in Redis');
    assert.deepEqual((await api.get(`/token-imports/${id}`)).body, { id, status: 'queued', total: 1500, processed: 0, created: 0, updated: 0, unchanged: 0, errors: [] });

    // Between the upload's check and the job, another token takes the serial of line 1202.
    const taken = await api.post('/tokens', { type: 'hardware', serial: specs[1200].serial, secret: randomBytes(20).toString('hex') });
    assert.equal(taken.status, 201, taken.text);

    workers = startBullWorkers(testRedisUrl(), ctx.services.processors, ctx.services.log, { prefix: ctx.config.queuePrefix });
    const result = await finished(tenant, id);
    assert.deepEqual({ ...result, errors: undefined }, { id, status: 'done', total: 1500, processed: 1500, created: 1499, updated: 0, unchanged: 0, errors: undefined });
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0].line, 1202);
    assert.match(result.errors[0].message, /^Line 1202: the serial "REDIS-001201" was taken by another token/);
    assert.equal(Number((await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId, import_id: id }).count('* as n').first())!.n), 1499);
  });

  it('runs a multipart PSKC upload with a pre-shared key on the worker', async () => {
    const tenant = await createTenant(ctx.services);
    const key = randomBytes(16);
    const res = await request(ctx.app)
      .post('/api/v1/token-imports')
      .set('Authorization', `Bearer ${tenant.apiKey}`)
      .field('preSharedKey', key.toString('hex'))
      .attach('file', Buffer.from(buildPreSharedPskc(randomSeeds(8, 'RPSK'), key)), 'vendor.xml');
    assert.equal(res.status, 202, res.text);
    workers ??= startBullWorkers(testRedisUrl(), ctx.services.processors, ctx.services.log, { prefix: ctx.config.queuePrefix });
    const result = await finished(tenant, res.body.id);
    assert.deepEqual([result.status, result.created, result.errors], ['done', 8, []]);
  });
});
