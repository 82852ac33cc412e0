/**
 * Past one machine (issue 14): two web and two worker processes from the build, as a load balancer
 * and a process manager would run them, on one PostgreSQL, one Redis and one SMTP sink. The
 * guarantees the in-process tests prove must hold across processes too, because they live in
 * PostgreSQL (row locks, conditional updates) and in deterministic job ids, never in process memory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { createResource, createTenant, createUser, unique } from '../helpers/factories';
import { testDatabaseUrl, testRedisUrl } from '../helpers/env';
import { freePort, waitUntil } from '../helpers/wait';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { killAllChildren, spawnRole, terminate, waitForHealthy, type Child } from '../helpers/processes';
import { parsePrometheus } from '../helpers/prometheus';
import { base32Encode, generateTotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('12345678901234567890');
const TOTP = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;
const METRICS_TOKEN = 'multi-process-test-metrics-token-0123';

describe('two web and two worker processes on one PostgreSQL and Redis', () => {
  let sink: SmtpSink;
  let ctx: TestContext;
  let prefix: string;
  const webs: Array<{ child: Child; base: string }> = [];
  const workers: Array<{ child: Child; metrics: string }> = [];

  before(async () => {
    sink = await startSmtpSink({ delayMs: 10 });
    // A hash-tagged prefix, as on Redis Cluster (the default form since issue 14).
    prefix = `{${unique('t')}}`;
    const common = { NODE_ENV: 'test', HOST: '127.0.0.1', DATABASE_URL: testDatabaseUrl(), DATABASE_POOL_MAX: '5', REDIS_URL: testRedisUrl(), SMTP_URL: sink.url, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', METRICS_TOKEN };
    // The test's own services create the data; they share the database and the queue prefix but run no workers.
    ctx = await createTestContext({ REDIS_URL: common.REDIS_URL, SMTP_URL: sink.url, QUEUE_PREFIX: prefix });
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      webs.push({ child: spawnRole('web', { ...common, PORT: String(port), BASE_URL: `http://127.0.0.1:${port}` }), base: `http://127.0.0.1:${port}` });
      const metricsPort = await freePort();
      workers.push({ child: spawnRole('worker', { ...common, WORKER_METRICS_PORT: String(metricsPort) }), metrics: `http://127.0.0.1:${metricsPort}/metrics` });
    }
    await Promise.all(webs.map((w) => waitForHealthy(w.child, Number(new URL(w.base).port))));
  });

  after(async () => {
    await killAllChildren();
    await ctx?.close();
    await sink?.close();
    if (prefix) await deleteQueueKeys(prefix);
  });

  /** A user with a TOTP token in a resource of a fresh tenant, and a check that goes to web process `i`. */
  async function setup(resourceInput: Record<string, unknown>) {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, resourceInput);
    const user = await createUser(s, tenant, { email: `${unique('user')}@example.test` });
    await s.users.assign(tenant.actor, resource.id, user.id);
    const { token } = await s.tokens.create(tenant.actor, { userId: user.id, secret: base32Encode(SEED), type: 'totp' });
    await s.tokens.assignToResource(tenant.actor, resource.id, token.id);
    const check = async (i: number, otp: string) => {
      const res = await fetch(`${webs[i % 2].base}/api/v1/resources/${resource.id}/authenticate`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ login: user.login, otp }),
      });
      if (res.status !== 200) {
        // Seen once in CI (a 401 for the key just created): say what the database and the process had.
        const key = await s.db('api_keys as k').join('tenants as t', 't.id', 'k.tenant_id').where('k.tenant_id', tenant.tenantId).select('k.prefix', 'k.revoked_at', 't.disabled_at');
        assert.fail(`web ${i % 2}: ${res.status} ${await res.text()}\nkeys of the tenant: ${JSON.stringify(key)}\nweb output:\n${webs[i % 2].child.output().slice(-2000)}`);
      }
      return ((await res.json()) as { result: boolean }).result;
    };
    return { tenant, resource, user, check };
  }

  it('50 identical codes spread over both web processes: exactly one success', async () => {
    const { check, tenant } = await setup({ failedAttemptsLimit: 10 });
    const code = generateTotp(SEED, Date.now(), TOTP);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => check(i, code)));
    assert.equal(results.filter(Boolean).length, 1);
    const audited = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'authenticate', result: 'success' }).count<{ count: string }[]>('* as count');
    assert.equal(Number(audited[0].count), 1, 'one success audited');
  });

  it('a burst of 60 wrong codes over both web processes counts exactly the limit, locks, and emails the lock once', async () => {
    const { check, tenant, resource, user } = await setup({ failedAttemptsLimit: 5, lockMinutes: 10 });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => check(i, '000000')));
    assert.ok(results.every((r) => r === false));
    const member = await ctx.services.db('resource_users').where({ tenant_id: tenant.tenantId, resource_id: resource.id, user_id: user.id }).first();
    assert.equal(member.fail_count, 5);
    assert.ok(member.locked_until > new Date(), 'locked');
    assert.equal(await check(0, generateTotp(SEED, Date.now(), TOTP)), false, 'a right code is refused while locked');
    assert.equal(await check(1, generateTotp(SEED, Date.now(), TOTP)), false, 'by either process');

    await sink.waitFor((m) => m.to.includes(user.email!), 20_000);
    // Later failures (the right codes above included) must not email the same lock again.
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(sink.received.filter((m) => m.to.includes(user.email!)).length, 1, 'the lock is emailed once');
    const notices = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'user.lock.notified' });
    assert.equal(notices.length, 1);
  });

  it('200 emails queued at once: each delivered exactly once, and both workers take part', async () => {
    const tenant = await createTenant(ctx.services);
    const run = unique('burst');
    const subjects = Array.from({ length: 200 }, (_, i) => `${run} #${i}`);
    await Promise.all(subjects.map((subject) => ctx.services.messages.send(tenant.tenantId, { recipient: 'someone@example.test', subject, bodyText: 'one of 200' })));
    await waitUntil(() => sink.received.filter((m) => m.subject.startsWith(run)).length >= 200, 45_000, 'all 200 delivered');
    // A second delivery would arrive right after the first; give it the time to show.
    await new Promise((r) => setTimeout(r, 1_000));
    const counts = new Map<string, number>();
    for (const m of sink.received) if (m.subject.startsWith(run)) counts.set(m.subject, (counts.get(m.subject) ?? 0) + 1);
    assert.equal(counts.size, 200);
    assert.deepEqual([...counts.values()].filter((n) => n !== 1), [], 'none twice');

    const sent = await Promise.all(workers.map(async (w) => {
      const res = await fetch(w.metrics, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
      return parsePrometheus(await res.text()).sum('mfa_jobs_total', { queue: 'email', name: 'message.send', result: 'success' });
    }));
    console.log(`email jobs per worker: ${sent.join(' + ')}`);
    assert.ok(sent.every((n) => n > 0), `both workers sent: ${sent.join(', ')}`);
  });

  it('SIGTERM stops all four processes cleanly', async () => {
    const codes = await Promise.all([...webs.map((w) => w.child), ...workers.map((w) => w.child)].map((c) => terminate(c, 15_000)));
    assert.deepEqual(codes.map((c) => c.code), [0, 0, 0, 0]);
  });
});
