/**
 * Redis failures, on a redis-server of this file's own (no persistence, killed with SIGKILL) and a
 * database of its own (the sweep takes every queued message in its database):
 * - with Redis down, a request that queues an email answers within the enqueue time box instead of
 *   waiting out ioredis' reconnection attempts (10 s and more), and the message waits in PostgreSQL;
 *   a token import is refused at once (503);
 * - Redis killed while emails are queued and being delivered loses its queue: once it is back, the
 *   sweep re-enqueues from PostgreSQL and every email arrives exactly once;
 * - with Redis gone, SIGTERM still stops the web and worker processes at once, with exit code 0.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { createTenant, unique } from '../helpers/factories';
import { postForm, signIn } from '../helpers/admin-agent';
import { freePort, waitUntil } from '../helpers/wait';
import { killAllChildren, spawnRole, terminate } from '../helpers/processes';
import { createOwnDatabase, startRedis, type OwnDatabase, type RedisServer } from '../helpers/fault-servers';
import { withTimeout } from '../../src/lib/timing';
import { ServiceUnavailableError } from '../../src/lib/errors';
import { buildCsv, randomSeeds } from '../helpers/token-files';
import { ENQUEUE_TIMEOUT_MS, startBullWorkers, type BullWorkers } from '../../src/jobs/bull-transport';

/** How many mails the sink received per recipient or subject. */
function tally(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

describe('faults: Redis down or killed', () => {
  let database: OwnDatabase;
  const redises: RedisServer[] = [];
  const contexts: TestContext[] = [];
  const sinks: SmtpSink[] = [];
  const workers: BullWorkers[] = [];

  before(async () => {
    database = await createOwnDatabase('faults_redis');
  });
  after(async () => {
    // Whatever failed above: workers, services and servers go, the database is dropped. A close
    // that waits for a Redis killed by a failed test must not hang the run.
    const bounded = (p: Promise<unknown>) => withTimeout(5_000, 'closing', p).catch(() => undefined);
    await Promise.all(workers.map((w) => bounded(w.close())));
    await Promise.all(contexts.map((c) => bounded(c.close())));
    await killAllChildren();
    await Promise.all(sinks.map((s) => s.close()));
    await database?.drop();
  });

  /** Services on this file's database, the given Redis and SMTP sink, as a web process builds them. */
  async function world(redis: RedisServer, sink: SmtpSink): Promise<TestContext> {
    const ctx = await createTestContext({ DATABASE_URL: database.url, REDIS_URL: redis.url, SMTP_URL: sink.url, QUEUE_PREFIX: unique('t') });
    contexts.push(ctx);
    return ctx;
  }

  /** Both the command connection and the workers' are back once a job can go through end to end. */
  async function waitForRedis(ctx: TestContext): Promise<void> {
    await waitUntil(() => ctx.services.redis!.status === 'ready', 15_000, 'the command connection to reconnect');
  }

  it('with Redis down, an admin invitation answers within the enqueue time box (5 runs, all under 2 s); the sweep delivers it once Redis is back', async () => {
    const redis = await startRedis();
    redises.push(redis);
    const sink = await startSmtpSink();
    sinks.push(sink);
    const ctx = await world(redis, sink);
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);

    await redis.kill();
    const invitees: string[] = [];
    const durations: number[] = [];
    for (let i = 0; i < 5; i++) {
      const email = `${unique('invitee')}@example.test`;
      const started = performance.now();
      const sent = await postForm(agent, '/admin/admins', '/admin/admins', { email, role: 'admin' });
      durations.push(Math.round(performance.now() - started));
      assert.equal(sent.status, 303, sent.text);
      invitees.push(email);
    }
    console.log(`invitation with Redis down, ms: ${durations.join(', ')} (enqueue time box ${ENQUEUE_TIMEOUT_MS} ms)`);
    assert.ok(durations.every((ms) => ms < 2_000), `every answer under 2 s: ${durations.join(', ')} ms`);
    const rows = await ctx.services.db('messages').whereIn('recipient', invitees).select('status');
    assert.deepEqual(rows.map((r) => r.status), invitees.map(() => 'queued'), 'the invitations wait in PostgreSQL');
    assert.equal(sink.received.length, 0);

    // A token import has no sweep to wait for: refused at once with a 503 and its reason.
    const started = performance.now();
    await assert.rejects(
      ctx.services.tokenImports.startImport(tenant.actor, { filename: 'down.csv', content: Buffer.from(buildCsv(randomSeeds(2, unique('DOWN')))) }),
      (err: Error) => err instanceof ServiceUnavailableError && /could not be queued/.test(err.message),
    );
    assert.ok(performance.now() - started < 2_000, `import refused after ${Math.round(performance.now() - started)} ms`);
    const imports = await ctx.services.tokenImports.listRecent(tenant.actor);
    assert.equal(imports[0]?.status, 'failed');

    await redis.start();
    workers.push(startBullWorkers(redis.url, ctx.services.processors, ctx.services.log, { prefix: ctx.config.queuePrefix }));
    await waitForRedis(ctx);
    // The sweep re-enqueues the five, as the periodic one does. Until the queue's own connection is
    // back an enqueue can still miss its time box (the sweep then stops and tries at its next run),
    // so it runs again until all are sent.
    await waitUntil(async () => {
      await ctx.services.messages.sweep(0);
      return (await ctx.services.db('messages').whereIn('recipient', invitees).where({ status: 'sent' })).length === invitees.length;
    }, 20_000, 'the sweep to get the invitations sent');
    // A second sweep finds nothing left; nothing arrives twice.
    assert.equal(await ctx.services.messages.sweep(0), 0);
    await new Promise((r) => setTimeout(r, 500));
    const counts = tally(sink.received.flatMap((m) => m.to));
    assert.deepEqual(invitees.map((e) => counts.get(e)), invitees.map(() => 1), 'each invitation arrives exactly once');
  });

  it('Redis killed while 200 emails are queued and being delivered: after it returns (empty), the sweep gets all 200 delivered exactly once', async () => {
    const redis = await startRedis();
    redises.push(redis);
    // A slow SMTP server keeps the worker mid-batch when Redis dies.
    const sink = await startSmtpSink({ delayMs: 30 });
    sinks.push(sink);
    const ctx = await world(redis, sink);
    const tenant = await createTenant(ctx.services);
    const run = unique('batch');
    const subjects = Array.from({ length: 200 }, (_, i) => `${run} #${i}`);
    for (const subject of subjects) await ctx.services.messages.send(tenant.tenantId, { recipient: 'someone@example.test', subject, bodyText: 'one of 200' });
    assert.equal((await ctx.services.queue.counts()).email.waiting, 200);

    workers.push(startBullWorkers(redis.url, ctx.services.processors, ctx.services.log, { prefix: ctx.config.queuePrefix }));
    await waitUntil(() => sink.received.length >= 30, 30_000, 'the worker to be mid-batch');
    await redis.kill();
    const atKill = sink.received.length;
    // Deliveries in flight at the kill finish (PostgreSQL and SMTP are up); nothing else moves.
    await new Promise((r) => setTimeout(r, 1_000));
    const sentWhileDown = await ctx.services.db('messages').where({ tenant_id: tenant.tenantId, status: 'sent' }).count<{ count: string }[]>('* as count');
    console.log(`Redis killed after ${atKill} of 200 received; ${sentWhileDown[0].count} marked sent while it was down`);
    assert.ok(atKill < 200, 'killed mid-batch');

    await redis.start();
    await waitForRedis(ctx);
    const swept = await ctx.services.messages.sweep(0);
    assert.ok(swept > 0 && swept <= 200 - atKill + 5, `swept ${swept}`);
    await waitUntil(
      async () => Number((await ctx.services.db('messages').where({ tenant_id: tenant.tenantId, status: 'sent' }).count<{ count: string }[]>('* as count'))[0].count) === 200,
      40_000,
      'all 200 to be marked sent',
    );
    assert.equal(await ctx.services.messages.sweep(0), 0, 'nothing left to sweep');
    await new Promise((r) => setTimeout(r, 500));
    const counts = tally(sink.received.map((m) => m.subject));
    const missing = subjects.filter((s) => !counts.has(s));
    const twice = subjects.filter((s) => (counts.get(s) ?? 0) > 1);
    assert.deepEqual({ missing, twice }, { missing: [], twice: [] });
    assert.equal(sink.received.filter((m) => m.subject.startsWith(run)).length, 200);
  });

  it('with Redis gone, SIGTERM lets the worker finish its deliveries in progress, and both processes exit 0 within 10 s', async () => {
    const redis = await startRedis();
    redises.push(redis);
    // Slow enough that deliveries are in progress when Redis dies and SIGTERM comes.
    const sink = await startSmtpSink({ delayMs: 300 });
    sinks.push(sink);
    const ctx = await world(redis, sink);
    const port = await freePort();
    const env = { NODE_ENV: 'test', PORT: String(port), HOST: '127.0.0.1', BASE_URL: `http://127.0.0.1:${port}`, DATABASE_URL: database.url, REDIS_URL: redis.url, SMTP_URL: sink.url, QUEUE_PREFIX: ctx.config.queuePrefix, LOG_LEVEL: 'warn' };
    const web = spawnRole('web', env);
    const worker = spawnRole('worker', { ...env, LOG_LEVEL: 'info' });
    await waitUntil(
      async () => {
        if (!web.running() || !worker.running()) throw new Error(`a process exited:\n${web.output()}\n${worker.output()}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok && /worker started/.test(worker.output());
      },
      60_000,
      'both processes to be up, with Redis',
    );
    const tenant = await createTenant(ctx.services);
    const run = unique('shutdown');
    for (let i = 0; i < 20; i++) await ctx.services.messages.send(tenant.tenantId, { recipient: 'someone@example.test', subject: `${run} #${i}`, bodyText: 'in progress' });
    await waitUntil(() => sink.received.length >= 3, 20_000, 'deliveries to be under way');

    await redis.kill();
    const [webExit, workerExit] = await Promise.all([terminate(web, 15_000), terminate(worker, 15_000)]);
    console.log(`SIGTERM with Redis down: web exit ${webExit.code} after ${webExit.ms} ms, worker exit ${workerExit.code} after ${workerExit.ms} ms; ${sink.received.length} of 20 delivered`);
    assert.deepEqual([webExit.code, workerExit.code], [0, 0], `web:\n${web.output()}\nworker:\n${worker.output()}`);
    assert.ok(webExit.ms < 10_000 && workerExit.ms < 10_000, `web ${webExit.ms} ms, worker ${workerExit.ms} ms`);
    // Every mail the SMTP server got is marked sent: no delivery was cut between send and mark
    // (which would send it again); the others wait, queued, for the sweep.
    const rows = await ctx.services.db('messages').where({ tenant_id: tenant.tenantId }).select('subject', 'status');
    const received = new Set(sink.received.map((m) => m.subject));
    assert.deepEqual(rows.filter((r) => received.has(r.subject) && r.status !== 'sent'), [], 'delivered but not marked sent');
    assert.ok(rows.every((r) => r.status === 'sent' || r.status === 'queued'));
  });
});
