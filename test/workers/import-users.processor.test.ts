/**
 * The `users.import` job through real Redis and the real BullMQ worker (own QUEUE_PREFIX), and
 * the processor delivered twice: a finished import is left alone, and a delivery that finds an
 * import half done resumes after its last committed batch without creating or counting twice.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, unique } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { testRedisUrl } from '../helpers/env';
import { waitUntil } from '../helpers/wait';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { startBullWorkers, type BullWorkers } from '../../src/jobs/bull-transport';
import { USER_IMPORT_BATCH_SIZE } from '../../src/jobs/processors/import-users.processor';

const FINAL = { number: 1, final: true };

function csvOf(logins: string[], resource: string): string {
  return ['login,email,resources', ...logins.map((l, i) => (i % 500 === 7 ? `${l},broken-email,${resource}` : `${l},${l}@example.com,${resource}`))].join('\n');
}

describe('users.import job (BullMQ worker)', () => {
  let ctx: TestContext;
  let workers: BullWorkers | undefined;
  const ensureWorkers = () => (workers ??= startBullWorkers(testRedisUrl(), ctx.services.processors, ctx.services.log, { prefix: ctx.config.queuePrefix }));

  before(async () => {
    ctx = await createTestContext({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: unique('t') });
  });
  after(async () => {
    await workers?.close();
    await ctx.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  const row = (id: string) => ctx.services.db('user_imports').where({ id }).first();

  it('waits in Redis as a provisioning job with a deterministic id, and the worker imports it in batches', async () => {
    assert.equal(ctx.services.queue.mode, 'bullmq');
    const tenant = await createTenant(ctx.services);
    const vpn = await createResource(ctx.services, tenant);
    const logins = Array.from({ length: 2500 }, (_, i) => `${unique('w')}-${i}`);
    const res = await apiClient(ctx.app, tenant.apiKey).post('/user-imports').set('Content-Type', 'text/csv').send(Buffer.from(csvOf(logins, vpn.name)));
    assert.equal(res.status, 202, res.text);
    assert.equal((await ctx.services.queue.counts()).provisioning.waiting, 1, 'the job waits in Redis until a worker runs');
    assert.equal((await row(res.body.id)).status, 'queued');

    ensureWorkers();
    const done = await waitUntil(async () => ((await row(res.body.id)).status === 'done' ? row(res.body.id) : undefined), 30_000, 'the import to finish');
    assert.deepEqual({ total: done.total, processed: done.processed, created: done.created, errors: done.error_count, sealed: done.file_sealed }, { total: 2500, processed: 2500, created: 2495, errors: 5, sealed: null });
    assert.equal((await ctx.services.db('resource_users').where({ resource_id: vpn.id })).length, 2495);
  });

  it('a second delivery of a finished import does nothing; one that finds it half done resumes after the last batch', async () => {
    const tenant = await createTenant(ctx.services);
    const vpn = await createResource(ctx.services, tenant);
    const logins = Array.from({ length: 2500 }, (_, i) => `${unique('r')}-${i}`);
    const started = await ctx.services.userImports.startImport(tenant.actor, { filename: 'r.csv', content: Buffer.from(csvOf(logins, vpn.name)), updateExisting: false });
    ensureWorkers();
    const done = await waitUntil(async () => ((await row(started.id)).status === 'done' ? row(started.id) : undefined), 30_000, 'the import to finish');

    // Delivered again after it finished: nothing changes.
    await ctx.services.processors.importUsers({ importId: started.id }, FINAL);
    assert.deepEqual(await row(started.id), done);

    // As if the worker died after committing the first batch: the row says 1 batch done and the
    // file is still there. The rerun writes the remaining batches only and counts each row once.
    const firstBatch = await ctx.services.db('user_import_errors').where({ import_id: started.id }).where('line', '<=', USER_IMPORT_BATCH_SIZE + 1).count('* as n').first();
    const firstErrors = Number(firstBatch!.n);
    await ctx.services.db('user_imports').where({ id: started.id }).update({
      status: 'running',
      finished_at: null,
      file_sealed: ctx.services.db.raw('?', [await sealedAgain(started.id, csvOf(logins, vpn.name))]),
      processed: USER_IMPORT_BATCH_SIZE,
      created: USER_IMPORT_BATCH_SIZE - firstErrors,
      error_count: firstErrors,
    });
    await ctx.services.db('user_import_errors').where({ import_id: started.id }).where('line', '>', USER_IMPORT_BATCH_SIZE + 1).delete();
    await ctx.services.db('users').where({ tenant_id: tenant.tenantId }).whereIn('login', logins.slice(USER_IMPORT_BATCH_SIZE)).delete();

    await ctx.services.processors.importUsers({ importId: started.id }, FINAL);
    const resumed = await row(started.id);
    assert.deepEqual({ status: resumed.status, processed: resumed.processed, created: resumed.created, unchanged: resumed.unchanged, errors: resumed.error_count }, { status: 'done', processed: 2500, created: done.created, unchanged: 0, errors: done.error_count });
    assert.equal((await ctx.services.db('user_import_errors').where({ import_id: started.id })).length, done.error_count);
    assert.equal(Number((await ctx.services.db('users').where({ tenant_id: tenant.tenantId }).count('* as n').first())!.n), done.created);
  });

  it('the sweep re-enqueues an import whose job was lost, and the worker finishes it', async () => {
    await workers?.close();
    workers = undefined;
    const tenant = await createTenant(ctx.services);
    const logins = Array.from({ length: 20 }, () => unique('s'));
    const started = await ctx.services.userImports.startImport(tenant.actor, { filename: 's.csv', content: Buffer.from(['login', ...logins].join('\n')), updateExisting: false });
    // Lost: as if Redis restarted without persistence before any worker took the job.
    await deleteQueueKeys(ctx.config.queuePrefix);
    assert.equal((await row(started.id)).status, 'queued');
    assert.ok((await ctx.services.userImports.sweep(0)) >= 1);
    ensureWorkers();
    const done = await waitUntil(async () => ((await row(started.id)).status === 'done' ? row(started.id) : undefined), 30_000, 'the swept import to finish');
    assert.equal(done.created, 20);
  });

  /** The file sealed for its import id again (the job drops it at the end), to stage a resumed delivery. */
  async function sealedAgain(importId: string, csv: string): Promise<string> {
    const { sealUserFile } = await import('../../src/users/import/user-file');
    return sealUserFile(ctx.services.secrets, importId, Buffer.from(csv));
  }
});
