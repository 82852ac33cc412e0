/**
 * Email codes under a burst (issue 13 §5): `requests` concurrent POST /challenge calls for users
 * with an email token, through the production topology (web and worker from dist/, BullMQ on the
 * local Redis under a prefix of its own), delivered to a local SMTP sink. Each latency runs from
 * sending the request to the sink receiving that user's mail.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config';
import { createServices } from '../src/services';
import { createLogger } from '../src/lib/logger';
import { migrate, createDb } from '../src/db/knex';
import { recreateDatabase } from '../src/db/database-admin';
import { QUEUE_CONCURRENCY } from '../src/jobs/job-names';
import { SMTP_POOL } from '../src/mail/mailer';
import { startSmtpSink } from '../test/helpers/smtp-sink';
import { ensureBuilt } from '../test/helpers/processes';
import { deleteQueueKeys } from '../test/helpers/redis-keys';
import { benchServerEnv } from './lib/server-env';
import { startProcfileRole, type ServerProcess } from './lib/processes';
import { startCpuCount } from './lib/cpu';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export interface EmailBenchOptions {
  databaseUrl: string;
  requests: number;
  rounds: number;
  smtpDelayMs: number;
  log: (line: string) => void;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round1 = (ms: number) => Math.round(ms);

export async function benchEmail(options: EmailBenchOptions) {
  const { log, requests, rounds } = options;
  ensureBuilt();
  const prefix = `bench-email-${randomUUID().slice(0, 8)}`;
  const sink = await startSmtpSink({ delayMs: options.smtpDelayMs });
  const env = benchServerEnv(options.databaseUrl, { REDIS_URL, QUEUE_PREFIX: prefix, SMTP_URL: sink.url, RUN_MIGRATIONS: 'false' });
  const config = loadConfig(env);

  log(`preparing ${options.databaseUrl.replace(/\/\/[^@]*@/, '//')}: ${requests * rounds} users with an email token`);
  await recreateDatabase(options.databaseUrl);
  const migrator = createDb(options.databaseUrl, 1);
  await migrate(migrator);
  await migrator.destroy();
  const { apiKey, resourceId, emails, logins } = await seed(config, requests * rounds);

  const servers: ServerProcess[] = [];
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const emailQueue = new Queue('email', { connection: redis, prefix });
  try {
    // BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' passes V8 flags to the web process.
    const nodeArgs = process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
    const web = await startProcfileRole('web', 'web', env, async (url) => (await fetch(`${url}/healthz`)).ok, ROOT, nodeArgs);
    servers.push(web);
    const worker = await startProcfileRole('worker', 'worker', env, async () => (await emailQueue.getWorkersCount()) > 0, ROOT);
    servers.push(worker);

    const latencies: number[] = [];
    /** Time to the API's answer alone: the share of the latency before the job is even queued. */
    const answers: number[] = [];
    /** From the API's answer to the sink's receipt: queue, worker and SMTP. */
    const afterAnswer: number[] = [];
    // CPU the web and worker processes spent over the rounds: what a code costs, whatever the machine's load.
    const webCpu = startCpuCount(web.pid);
    const workerCpu = startCpuCount(worker.pid);
    const perRound: Array<{ p50_ms: number; p95_ms: number; max_ms: number; wall_ms: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const users = Array.from({ length: requests }, (_, i) => r * requests + i);
      const started = performance.now();
      const round = await Promise.all(
        users.map(async (u) => {
          const delivered = sink.waitFor((mail) => mail.to.includes(emails[u]), 60_000).then(() => performance.now());
          const t0 = performance.now();
          const res = await fetch(`${web.url}/api/v1/resources/${resourceId}/challenge`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ login: logins[u] }),
          });
          if (res.status !== 200) throw new Error(`challenge answered ${res.status}: ${await res.text()}`);
          const answered = performance.now();
          answers.push(answered - t0);
          const at = await delivered;
          afterAnswer.push(at - answered);
          return at - t0;
        }),
      );
      const wall = performance.now() - started;
      const sorted = [...round].sort((a, b) => a - b);
      perRound.push({ p50_ms: round1(percentile(sorted, 50)), p95_ms: round1(percentile(sorted, 95)), max_ms: round1(sorted.at(-1)!), wall_ms: round1(wall) });
      log(`round ${r + 1}: ${requests} codes delivered, p50 ${perRound.at(-1)!.p50_ms} ms, p95 ${perRound.at(-1)!.p95_ms} ms, all within ${perRound.at(-1)!.wall_ms} ms`);
      latencies.push(...round);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const perCode = (ms: number | undefined) => (ms === undefined ? undefined : Math.round((ms * 1000) / latencies.length) / 1000);
    const cpu_ms_per_code = { web: perCode(webCpu().server_ms), worker: perCode(workerCpu().server_ms) };
    const result = {
      requests_per_round: requests,
      rounds,
      p50_ms: round1(percentile(sorted, 50)),
      p95_ms: round1(percentile(sorted, 95)),
      max_ms: round1(sorted.at(-1)!),
      api_answer_p50_ms: round1(percentile([...answers].sort((a, b) => a - b), 50)),
      api_answer_p95_ms: round1(percentile([...answers].sort((a, b) => a - b), 95)),
      delivery_after_answer_p50_ms: round1(percentile([...afterAnswer].sort((a, b) => a - b), 50)),
      delivery_after_answer_p95_ms: round1(percentile([...afterAnswer].sort((a, b) => a - b), 95)),
      cpu_ms_per_code,
      load_average_1m: Math.round(os.loadavg()[0] * 10) / 10,
      per_round: perRound,
      setup: {
        topology: 'web and worker from dist/ (as the Procfile), BullMQ on local Redis, local SMTP sink (smtp-server)',
        email_concurrency: QUEUE_CONCURRENCY.email,
        smtp_pool: SMTP_POOL,
        smtp_sink_delay_ms: options.smtpDelayMs,
      },
      measured_at: new Date().toISOString(),
    };
    log(`email codes: p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms (${requests} concurrent requests x ${rounds} rounds); the API answered in p50 ${result.api_answer_p50_ms} ms, p95 ${result.api_answer_p95_ms} ms; delivery after the answer p50 ${result.delivery_after_answer_p50_ms} ms, p95 ${result.delivery_after_answer_p95_ms} ms; CPU per code: web ${cpu_ms_per_code.web} ms, worker ${cpu_ms_per_code.worker} ms; load average ${result.load_average_1m}`);
    return result;
  } finally {
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    await emailQueue.close();
    await redis.quit();
    await deleteQueueKeys(prefix).catch(() => undefined);
    await sink.close();
  }
}

async function seed(config: ReturnType<typeof loadConfig>, users: number) {
  const services = await createServices(config, { log: createLogger('warn'), migrate: false });
  try {
    const { tenant, admin, apiKey } = await services.admins.createTenant({ organisation: 'Bench Mail', email: 'bench-mail@example.test', password: 'bench run passphrase 2026' }, { withApiKey: true });
    const actor = { tenantId: tenant.id, type: 'admin' as const, id: admin.id, label: 'bench', role: 'owner' as const };
    const resource = await services.resources.create(actor, { name: 'Bench portal' });
    const logins: string[] = [];
    const emails: string[] = [];
    for (let i = 0; i < users; i++) {
      const login = `mail.user.${String(i).padStart(4, '0')}`;
      const user = await services.users.create(actor, { login, email: `${login}@example.test` });
      await services.users.assign(actor, resource.id, user.id);
      const token = await services.tokens.create(actor, { type: 'email', userId: user.id });
      await services.tokens.assignToResource(actor, resource.id, token.token.id);
      logins.push(login);
      emails.push(`${login}@example.test`);
    }
    return { apiKey: apiKey!, resourceId: resource.id, logins, emails };
  } finally {
    await services.close();
  }
}
