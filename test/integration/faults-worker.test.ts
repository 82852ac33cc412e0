/**
 * The worker process (Procfile `worker`) killed with SIGKILL mid-batch, then started again, on a
 * redis-server and a database of this file's own. Every email arrives; one arrives twice only if
 * the kill fell between its SMTP delivery and the row being marked sent (the processor checks the
 * status before sending, so nothing else is sent again): at most the worker's concurrency.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { createTenant, unique } from '../helpers/factories';
import { waitUntil } from '../helpers/wait';
import { killAllChildren, spawnRole, type Child } from '../helpers/processes';
import { createOwnDatabase, startRedis, type OwnDatabase, type RedisServer } from '../helpers/fault-servers';
import { withTimeout } from '../../src/lib/timing';
import { QUEUE_CONCURRENCY } from '../../src/jobs/job-names';

/** Email jobs one worker runs at a time: the most that can be in flight at the kill. */
const WORKER_CONCURRENCY = QUEUE_CONCURRENCY.email;

describe('faults: the worker process killed mid-batch', () => {
  let database: OwnDatabase;
  let redis: RedisServer;
  let sink: SmtpSink;
  let ctx: TestContext | undefined;

  before(async () => {
    database = await createOwnDatabase('faults_worker');
    redis = await startRedis();
    // A slow SMTP server: the kill finds deliveries in flight.
    sink = await startSmtpSink({ delayMs: 40 });
  });
  after(async () => {
    if (ctx) await withTimeout(5_000, 'closing', ctx.close()).catch(() => undefined);
    await killAllChildren();
    await sink?.close();
    await database?.drop();
  });

  it('SIGKILL mid-batch, restart: all 200 delivered, duplicates only among the deliveries in flight at the kill', async () => {
    const prefix = unique('t');
    ctx = await createTestContext({ DATABASE_URL: database.url, REDIS_URL: redis.url, SMTP_URL: sink.url, QUEUE_PREFIX: prefix });
    const env = { NODE_ENV: 'test', DATABASE_URL: database.url, REDIS_URL: redis.url, SMTP_URL: sink.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' };
    const tenant = await createTenant(ctx.services);
    const run = unique('batch');
    const subjects = Array.from({ length: 200 }, (_, i) => `${run} #${i}`);
    for (const subject of subjects) await ctx.services.messages.send(tenant.tenantId, { recipient: 'someone@example.test', subject, bodyText: 'one of 200' });
    const sentSubjects = async () => new Set((await ctx!.services.db('messages').where({ tenant_id: tenant.tenantId, status: 'sent' }).select('subject')).map((r) => r.subject as string));

    const first: Child = spawnRole('worker', env);
    await waitUntil(
      () => {
        if (!first.running()) throw new Error(`worker exited:\n${first.output()}`);
        return sink.received.length >= 50;
      },
      60_000,
      'the worker to be mid-batch',
    );
    first.proc.kill('SIGKILL');
    await first.exited;
    const receivedAtKill = new Set(sink.received.map((m) => m.subject));
    const sentAtKill = await sentSubjects();
    // Received by the SMTP server but never marked sent: the kill fell between the two.
    const inFlight = [...receivedAtKill].filter((s) => !sentAtKill.has(s));
    const killedAt = Date.now();

    const second = spawnRole('worker', env);
    // The killed worker's active jobs come back once their lock expires (BullMQ's stalled-job check):
    // about 15 s with our lock settings, a minute with BullMQ's defaults (which this bound refuses).
    await waitUntil(
      async () => {
        if (!second.running()) throw new Error(`worker exited:\n${second.output()}`);
        return (await sentSubjects()).size === 200;
      },
      45_000,
      'all 200 to be marked sent',
    );
    const recoveredMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 500));

    const counts = new Map<string, number>();
    for (const m of sink.received) counts.set(m.subject, (counts.get(m.subject) ?? 0) + 1);
    const missing = subjects.filter((s) => !counts.has(s));
    const twice = subjects.filter((s) => (counts.get(s) ?? 0) > 1);
    console.log(`killed after ${receivedAtKill.size} received (${sentAtKill.size} marked sent, ${inFlight.length} in flight); all 200 sent ${recoveredMs} ms after the kill; ${twice.length} received twice`);
    assert.deepEqual(missing, [], 'none lost');
    assert.deepEqual(twice.filter((s) => !inFlight.includes(s)), [], 'none twice except deliveries in flight at the kill');
    assert.ok(twice.length <= WORKER_CONCURRENCY, `at most the worker's concurrency twice: ${twice.length}`);
  });
});
