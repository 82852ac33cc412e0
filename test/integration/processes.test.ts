/**
 * The real processes, as the Procfile runs them: `web` and `worker` from the build (dist/, plain
 * `node`) as child processes on PostgreSQL, Redis and an SMTP sink. An email queued while the
 * worker is stopped is delivered once it starts, both serve their own /metrics; SIGTERM stops both cleanly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createTestContext, type TestContext } from '../helpers/context';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { createTenant, unique } from '../helpers/factories';
import { testDatabaseUrl, testRedisUrl } from '../helpers/env';
import { freePort, waitUntil } from '../helpers/wait';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { ensureBuilt, procfileCommand } from '../helpers/processes';
import { parsePrometheus } from '../helpers/prometheus';

const METRICS_TOKEN = 'processes-test-metrics-token-0123456789';

interface Child {
  proc: ChildProcess;
  /** Everything the process printed, for failure messages. */
  output(): string;
}

/** Starts a Procfile role (`node dist/...`, no npm or tsx in between) so signals reach the process itself. */
function spawnProcess(role: 'web' | 'worker', env: Record<string, string>): Child {
  ensureBuilt();
  const [, ...args] = procfileCommand(role);
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  return { proc, output: () => output };
}

async function stop(child: Child, timeoutMs: number): Promise<number | null> {
  if (child.proc.exitCode !== null) return child.proc.exitCode;
  const exited = once(child.proc, 'exit');
  child.proc.kill('SIGTERM');
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms after SIGTERM:\n${child.output()}`)), timeoutMs).unref());
  const [code] = (await Promise.race([exited, timer])) as [number | null];
  return code;
}

describe('web and worker processes', () => {
  let sink: SmtpSink;
  let ctx: TestContext;
  let env: Record<string, string>;
  let port: number;
  let workerMetricsPort: number;
  const children: Child[] = [];
  let web: Child;
  let worker: Child;

  before(async () => {
    sink = await startSmtpSink();
    port = await freePort();
    workerMetricsPort = await freePort();
    env = {
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      BASE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: testRedisUrl(),
      SMTP_URL: sink.url,
      QUEUE_PREFIX: unique('t'),
      LOG_LEVEL: 'warn',
      METRICS_TOKEN,
    };
    // The test's own services share the database and the queue prefix with the children.
    ctx = await createTestContext({ REDIS_URL: env.REDIS_URL, SMTP_URL: env.SMTP_URL, QUEUE_PREFIX: env.QUEUE_PREFIX });
  });

  after(async () => {
    // Whatever happened above, no child outlives the test run.
    for (const child of children) if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
    await ctx?.close();
    await sink?.close();
    if (env) await deleteQueueKeys(env.QUEUE_PREFIX);
  });

  it('the web process serves /healthz and /readyz with database and Redis reachable', async () => {
    // node itself on the build, with V8 flags only (no loader such as tsx between node and the app).
    const [command, ...args] = procfileCommand('web');
    assert.equal(command, 'node');
    assert.equal(args.at(-1), 'dist/src/server.js');
    for (const flag of args.slice(0, -1)) assert.match(flag, /^--(heap-growing-percent|max-semi-space-size|max-old-space-size)=\d+$/);
    web = spawnProcess('web', env);
    children.push(web);
    const base = `http://127.0.0.1:${port}`;
    await waitUntil(
      async () => {
        if (web.proc.exitCode !== null) throw new Error(`web exited with ${web.proc.exitCode}:\n${web.output()}`);
        return (await fetch(`${base}/healthz`).catch(() => undefined))?.ok;
      },
      60_000,
      'the web process to listen',
    );
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual((await ready.json()).checks, { database: 'ok', redis: 'ok' });
  });

  it('an email queued while the worker is stopped is delivered once the worker starts', async () => {
    const tenant = await createTenant(ctx.services);
    const email = `${unique('invitee')}@example.test`;
    await ctx.services.admins.invite(tenant.actor, { email, role: 'admin' });
    assert.equal((await ctx.services.queue.counts()).email.waiting, 1, 'the job waits for a worker');
    assert.equal(sink.received.length, 0);

    worker = spawnProcess('worker', { ...env, WORKER_METRICS_PORT: String(workerMetricsPort) });
    children.push(worker);
    const mail = await sink.waitFor((m) => m.to.includes(email), 60_000).catch((err) => {
      throw new Error(`${err.message}\nworker output:\n${worker.output()}`);
    });
    assert.match(mail.text, /\/admin\/invite\//);
    const message = await waitUntil(() => ctx.services.db('messages').where({ tenant_id: tenant.tenantId, status: 'sent' }).first(), 10_000, 'the message to be marked sent');
    assert.equal(message.body_text, null);
  });

  it('the worker serves its own metrics on WORKER_METRICS_PORT, behind METRICS_TOKEN', async () => {
    const url = `http://127.0.0.1:${workerMetricsPort}/metrics`;
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { headers: { Authorization: 'Bearer wrong-token-of-enough-length' } })).status, 401);
    const res = await fetch(url, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(res.status, 200);
    const scraped = parsePrometheus(await res.text());
    // The invitation email of the test above ran in this worker.
    assert.equal(scraped.sum('mfa_jobs_total', { queue: 'email', name: 'message.send', result: 'success' }), 1);
    assert.equal(scraped.sum('mfa_message_delivery_seconds_count', { channel: 'email' }), 1);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) assert.equal(scraped.find('mfa_queue_jobs', { queue: 'email', state }).length, 1, state);
    assert.ok(scraped.sum('process_resident_memory_bytes') > 0);
    assert.equal((await fetch(`http://127.0.0.1:${workerMetricsPort}/other`)).status, 404);

    const web = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(web.status, 200);
    assert.ok(parsePrometheus(await web.text()).find('http_request_duration_seconds_count', { method: 'GET', route: '/readyz', status: '2xx' }).length === 1);
  });

  it('the worker refuses to start without REDIS_URL or DATABASE_URL, and says why', async () => {
    for (const [missing, message] of [
      ['REDIS_URL', /The worker needs REDIS_URL/],
      ['DATABASE_URL', /The worker needs DATABASE_URL/],
    ] as const) {
      const refused = spawnProcess('worker', { ...env, [missing]: '' });
      children.push(refused);
      // 'close', not 'exit': the output streams are complete by then.
      const [code] = await once(refused.proc, 'close');
      assert.equal(code, 1);
      assert.match(refused.output(), message);
    }
  });

  it('SIGTERM stops both processes gracefully (exit code 0 within 10 s)', async () => {
    assert.ok(web && worker, 'both processes were started by the tests above');
    const [webCode, workerCode] = await Promise.all([stop(web, 10_000), stop(worker, 10_000)]);
    assert.equal(webCode, 0, `web output:\n${web.output()}`);
    assert.equal(workerCode, 0, `worker output:\n${worker.output()}`);
  });
});
