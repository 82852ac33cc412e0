/**
 * The real processes, as the Procfile runs them: `web` (src/server.ts) and `worker`
 * (workers/worker.ts) as child processes on PostgreSQL, Redis and an SMTP sink. An email queued
 * while the worker is stopped is delivered once it starts; SIGTERM stops both cleanly.
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

interface Child {
  proc: ChildProcess;
  /** Everything the process printed, for failure messages. */
  output(): string;
}

/** Starts `node --import tsx <entry>` directly (no npx/tsx wrapper) so signals reach the process itself. */
function spawnProcess(entry: string, env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const children: Child[] = [];
  let web: Child;
  let worker: Child;

  before(async () => {
    sink = await startSmtpSink();
    port = await freePort();
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
    web = spawnProcess('src/server.ts', env);
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

    worker = spawnProcess('workers/worker.ts', env);
    children.push(worker);
    const mail = await sink.waitFor((m) => m.to.includes(email), 60_000).catch((err) => {
      throw new Error(`${err.message}\nworker output:\n${worker.output()}`);
    });
    assert.match(mail.text, /\/admin\/invite\//);
    const message = await waitUntil(() => ctx.services.db('messages').where({ tenant_id: tenant.tenantId, status: 'sent' }).first(), 10_000, 'the message to be marked sent');
    assert.equal(message.body_text, null);
  });

  it('the worker refuses to start without REDIS_URL or DATABASE_URL, and says why', async () => {
    for (const [missing, message] of [
      ['REDIS_URL', /The worker needs REDIS_URL/],
      ['DATABASE_URL', /The worker needs DATABASE_URL/],
    ] as const) {
      const refused = spawnProcess('workers/worker.ts', { ...env, [missing]: '' });
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
