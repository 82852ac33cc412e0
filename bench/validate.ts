/**
 * `npm run bench -- validate` (SPEC §8): POST /api/v1/resources/{id}/authenticate on the real
 * app, against the floor (a bare Express JSON endpoint), with the same load tool, connections
 * and request-building work. Success-path requests carry valid, never reused HOTP codes; the
 * failure path sends wrong codes. Every answer is checked.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config';
import { createDb } from '../src/db/knex';
import { runLoad, type LoadResult, type Traffic } from './lib/load';
import { memoryOf, startProcfileRole, startServer, type ServerProcess } from './lib/processes';
import { ensureBuilt } from '../test/helpers/processes';
import { parsePrometheus } from '../test/helpers/prometheus';
import { cpuPerRequestUs, startCpuCount } from './lib/cpu';
import { hotp, recreateDatabase, seedBenchData, type BenchData } from './validate-data';
import { benchServerEnv } from './lib/server-env';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ValidateOptions {
  databaseUrl: string;
  connections: number;
  durationS: number;
  warmupS: number;
  users: number;
  poolMax: number;
  log: (line: string) => void;
}

/**
 * The users 0..n-1 in a fixed pseudo-random order (Fisher–Yates with a seeded generator, so runs
 * repeat). Users in insertion order would send the checks of neighbouring token rows (the same
 * heap page) at the same instant, a burst real sign-ins do not make: more concurrent updates on a
 * page than its free space holds, hence updates that cannot stay on the page (not HOT). That
 * artefact grows with the number of users (docs/performance.md, validation at two sizes).
 */
function shuffledUsers(n: number): Uint32Array {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  let state = 0x2545f491;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Round-robin over the users in a fixed shuffled order; a user's token is never in two requests at once, and each code is used once. */
export function codeTraffic(data: BenchData, resourceId: string, otpFor: (i: number) => string, expected: boolean): Traffic {
  const n = data.logins.length;
  const inFlight = new Uint8Array(n);
  const order = shuffledUsers(n);
  let cursor = 0;
  return {
    path: `/api/v1/resources/${resourceId}/authenticate`,
    headers: { authorization: `Bearer ${data.apiKey}` },
    next() {
      for (let tries = 0; tries < n; tries++) {
        const i = order[cursor];
        cursor = cursor + 1 === n ? 0 : cursor + 1;
        if (inFlight[i]) continue;
        inFlight[i] = 1;
        return { body: JSON.stringify({ login: data.logins[i], otp: otpFor(i) }), tag: i };
      }
      return null;
    },
    check: (body) => (JSON.parse(body) as { result?: unknown }).result === expected,
    answered(tag) {
      inFlight[tag] = 0;
    },
  };
}

export function errorsOf(r: LoadResult): number {
  return r.non200 + r.socketErrors + r.timeouts + r.wrong;
}

export async function benchValidate(options: ValidateOptions): Promise<Record<string, unknown>> {
  const { log, connections, durationS, warmupS } = options;
  const env = benchServerEnv(options.databaseUrl, { DATABASE_POOL_MAX: String(options.poolMax) });

  const config = loadConfig(env);

  log(`preparing ${options.databaseUrl.replace(/\/\/[^@]*@/, '//')} with ${options.users} users and HOTP tokens`);
  await recreateDatabase(options.databaseUrl);
  const data = await seedBenchData(config, options.users);
  const db = createDb(options.databaseUrl, 1);
  const runs: Record<string, LoadResult & { cpu_us_per_request: Record<string, number | undefined> }> = {};
  const servers: ServerProcess[] = [];
  const measure = async (name: string, server: ServerProcess, traffic: () => Traffic, seconds: number) => {
    log(`${name}: ${connections} connections, ${seconds} s`);
    const cpuUsed = startCpuCount(server.pid);
    const load = await runLoad(server.url, traffic(), connections, seconds);
    runs[name] = { ...load, cpu_us_per_request: cpuPerRequestUs(cpuUsed(), load.responses) };
    const cpu = runs[name].cpu_us_per_request;
    log(`${name}: ${load.rps} req/s, p50 ${load.p50_ms} ms, p99 ${load.p99_ms} ms, errors ${errorsOf(load)}; CPU per request: server ${cpu.server} µs, PostgreSQL ${cpu.postgres} µs, load generator ${cpu.load_generator} µs`);
    // Let answers still in flight when the run stopped arrive before the next run.
    await new Promise((r) => setTimeout(r, 500));
  };

  try {
    // (a) The floor: same requests (valid codes of separate counters), same checks.
    const baseline = await startServer('baseline', 'bench/baseline-server.ts', env, async (url) => (await fetch(`${url}/x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).ok, ROOT);
    servers.push(baseline);
    const floorCounters = new Array<number>(options.users).fill(0);
    const floorTraffic = () => ({ ...codeTraffic(data, data.successResourceId, (i) => hotp(data.seeds[i], floorCounters[i]++), true), path: '/x' });
    await measure('baseline warm-up', baseline, floorTraffic, warmupS);
    await measure('baseline', baseline, floorTraffic, durationS);
    await baseline.stop();

    // (b) The real app, as the Procfile's web role runs it (node <flags> dist/src/server.js), on the bench
    // database; BENCH_RUNNER=tsx runs the sources through tsx instead (`npm start`), for comparison.
    // BENCH_PROFILE_DIR=/some/dir writes a V8 CPU profile of the app process there (for docs/performance.md).
    const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
    // BENCH_NODE_ARGS='--max-semi-space-size=8' tries V8 flags on the app (docs/performance.md, memory).
    profile.push(...(process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []));
    const runner = process.env.BENCH_RUNNER === 'tsx' ? 'tsx' : 'dist';
    if (runner === 'dist') ensureBuilt();
    const ready = async (url: string) => (await fetch(`${url}/healthz`)).ok;
    const app = runner === 'dist' ? await startProcfileRole('app', 'web', env, ready, ROOT, profile) : await startServer('app', 'src/server.ts', env, ready, ROOT, profile);
    servers.push(app);
    const counters = new Array<number>(options.users).fill(0);
    const successTraffic = () => codeTraffic(data, data.successResourceId, (i) => hotp(data.seeds[i], counters[i]++), true);
    await measure('validate warm-up', app, successTraffic, warmupS);
    const successStart = new Date();
    await measure('validate', app, successTraffic, durationS);

    // Failure path: a code outside each token's look-ahead window, on a resource of its own.
    const wrong = data.seeds.map((seed, i) => {
      const window = new Set(Array.from({ length: 12 }, (_, k) => hotp(seed, counters[i] + k)));
      let code = 0;
      while (window.has(String(code).padStart(6, '0'))) code++;
      return String(code).padStart(6, '0');
    });
    const failureTraffic = () => codeTraffic(data, data.failureResourceId, (i) => wrong[i], false);
    await measure('failure warm-up', app, failureTraffic, warmupS);
    // Start the measured run with no user locked, so it measures wrong codes, not locks.
    await db('resource_users').where({ resource_id: data.failureResourceId }).update({ fail_count: 0, locked_until: null });
    const failureStart = new Date();
    await measure('failure', app, failureTraffic, durationS);
    const memory = memoryOf(app.pid);
    if (memory) log(`app (${runner}): RSS ${memory.rss_mb} MB after the runs, peak ${memory.peak_rss_mb} MB`);
    const heap = await heapOf(app.url, env.METRICS_TOKEN);
    log(`app heap now: ${JSON.stringify(heap)}`);
    await app.stop();

    const reasons = async (resourceId: string, since: Date) => {
      const rows = await db('audit_events').where({ tenant_id: data.tenantId, resource_id: resourceId, action: 'authenticate' }).andWhere('created_at', '>=', since)
        .select(db.raw(`details->>'reason' AS reason`)).count('* as n').groupByRaw(`details->>'reason'`);
      return Object.fromEntries(rows.map((r) => [String(r.reason), Number(r.n)]));
    };
    const { rows: [pgVersion] } = await db.raw('SHOW server_version');
    const validate = runs.validate;
    const base = runs.baseline;
    return {
      validate_rps: validate.rps,
      baseline_rps: base.rps,
      ratio: Math.round((validate.rps / base.rps) * 1000) / 1000,
      p50_ms: validate.p50_ms,
      p99_ms: validate.p99_ms,
      errors: Object.values(runs).reduce((sum, r) => sum + errorsOf(r), 0),
      failure_path_rps: runs.failure.rps,
      failure_path_p99_ms: runs.failure.p99_ms,
      app_runner: runner,
      app_peak_rss_mb: memory?.peak_rss_mb,
      app_rss_mb_after: memory?.rss_mb,
      app_heap_mb_after: heap,
      // What a request cost each process group, in µs of CPU (Linux /proc): on two shared cores this, not latency, bounds the ratio.
      cpu_us_per_request: { baseline: base.cpu_us_per_request, validate: validate.cpu_us_per_request, failure: runs.failure.cpu_us_per_request },
      connections,
      duration_s: durationS,
      machine: {
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model,
        memory_gb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        postgres: pgVersion.server_version,
        database_pool_max: options.poolMax,
        load_tool: 'autocannon (in the bench process; each server in its own process)',
      },
      audit: { success_path: await reasons(data.successResourceId, successStart), failure_path: await reasons(data.failureResourceId, failureStart) },
      runs,
      measured_at: new Date().toISOString(),
    };
  } finally {
    for (const server of servers) await server.stop().catch(() => undefined);
    await db.destroy();
  }
}

/** The app's V8 heap and external memory in MB, from its own /metrics (where the RSS goes). */
async function heapOf(url: string, token: string | undefined): Promise<Record<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const scraped = parsePrometheus(await res.text());
  const mb = (name: string, labels?: Record<string, string>) => Math.round(scraped.sum(name, labels) / 2 ** 20);
  const spaces = Object.fromEntries(scraped.find('nodejs_heap_space_size_total_bytes').map((s) => [`space_${s.labels.space}`, Math.round(s.value / 2 ** 20)]));
  return { heap_total: mb('nodejs_heap_size_total_bytes'), heap_used: mb('nodejs_heap_size_used_bytes'), external: mb('nodejs_external_memory_bytes'), ...spaces };
}
