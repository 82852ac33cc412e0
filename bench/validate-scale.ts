/**
 * `npm run bench -- validate-scale` (issue 14): does a check cost the same as the data grows?
 * Seeds two databases in this run: a small tenant (`--small` users, 1 000 by default) and a large
 * one (`--users` users, 100 000, and `--tokens` tokens, 1 000 000: each user's HOTP token plus
 * hardware tokens in stock). Then runs the validate success path on each, alternating small and
 * large `--rounds` times so both see the same machine, with the web role as the Procfile starts it.
 * Compares throughput and the CPU per check of the app and of the database's PostgreSQL backends
 * (medians over the rounds; the backends of other databases on the machine are left out):
 * the target is "within 10 %".
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config';
import { createDb } from '../src/db/knex';
import { runLoad } from './lib/load';
import { startProcfileRole } from './lib/processes';
import { cpuPerRequestUs, startCpuCount } from './lib/cpu';
import { ensureBuilt } from '../test/helpers/processes';
import { hotp, recreateDatabase, seedBenchData, type BenchData } from './validate-data';
import { benchServerEnv } from './lib/server-env';
import { codeTraffic, errorsOf } from './validate';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ValidateScaleOptions {
  smallUrl: string;
  largeUrl: string;
  small: number;
  users: number;
  tokens: number;
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  log: (line: string) => void;
}

interface Round {
  rps: number;
  p99_ms: number;
  app_us: number | undefined;
  postgres_us: number | undefined;
  postgres_db_us: number | undefined;
  /** Of those backends' CPU per check, the system (kernel) part, and their minor page faults per check. */
  postgres_db_system_us: number | undefined;
  minor_faults_per_check: number | undefined;
  /** Blocks PostgreSQL had to read into shared buffers per check (from the OS cache or disk): the working set outgrowing shared_buffers. */
  reads_per_check: number;
  /** The five relations that read the most, blocks per check. */
  reads_by_relation: Record<string, number>;
  hits_per_check: number;
  /** WAL written per check, and the full-page images in it (the first change of a page after a checkpoint logs the whole page): the whole cluster's (pg_stat_wal), so only meaningful on an otherwise idle machine. */
  wal_bytes_per_check: number;
  fpi_per_check: number;
  errors: number;
}

/**
 * The database's block reads and buffer hits, and the cluster's WAL, so far (pg_stat_database and
 * pg_stat_wal, flushed by each backend at least once a second); and the reads of each table and
 * index (pg_statio_*), to tell which relations outgrow the buffer pool.
 */
async function blocksOf(url: string): Promise<{ read: number; hit: number; walBytes: number; fpi: number; readsOf: Map<string, number> }> {
  const db = createDb(url, 1);
  try {
    const { rows: [row] } = await db.raw(`SELECT blks_read::bigint AS read, blks_hit::bigint AS hit, w.wal_bytes::bigint AS wal_bytes, w.wal_fpi::bigint AS fpi
                                            FROM pg_stat_database, pg_stat_wal w WHERE datname = current_database()`);
    const { rows: relations } = await db.raw(`SELECT relname AS name, heap_blks_read AS read FROM pg_statio_user_tables
                                               UNION ALL SELECT indexrelname, idx_blks_read FROM pg_statio_user_indexes`);
    const readsOf = new Map<string, number>((relations as Array<{ name: string; read: string }>).map((r) => [r.name, Number(r.read)]));
    return { read: Number(row.read), hit: Number(row.hit), walBytes: Number(row.wal_bytes), fpi: Number(row.fpi), readsOf };
  } finally {
    await db.destroy();
  }
}

/** The relations that read the most blocks between two snapshots, as "name reads-per-check". */
function topReads(before: Map<string, number>, after: Map<string, number>, checks: number): Record<string, number> {
  const deltas = [...after].map(([name, n]) => [name, n - (before.get(name) ?? 0)] as const).filter(([, n]) => n > 0);
  deltas.sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(deltas.slice(0, 5).map(([name, n]) => [name, Math.round((n / Math.max(1, checks)) * 100) / 100]));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

export async function benchValidateScale(options: ValidateScaleOptions): Promise<Record<string, unknown>> {
  const { log } = options;
  // One environment for both: the same encryption key seals both databases' seeds.
  const envFor = (url: string) => ({ ...shared, DATABASE_URL: url });
  const shared = benchServerEnv(options.smallUrl, { DATABASE_POOL_MAX: '10' });
  ensureBuilt();
  const sizes = [
    { name: 'small', url: options.smallUrl, users: options.small, tokens: options.small },
    { name: 'large', url: options.largeUrl, users: options.users, tokens: options.tokens },
  ];
  const data = new Map<string, { seeded: BenchData; counters: number[] }>();
  for (const size of sizes) {
    const started = performance.now();
    await recreateDatabase(size.url);
    const seeded = await seedBenchData(loadConfig(envFor(size.url)), size.users, size.tokens);
    data.set(size.name, { seeded, counters: new Array<number>(size.users).fill(0) });
    log(`${size.name}: seeded ${size.users} users and ${size.tokens} tokens in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  // Both web roles stay up for the whole run, started and warmed once: a round is then only the
  // load, so rounds of the two sizes can alternate often and each pair runs back to back, on the
  // machine as it is at that moment (restarting the role each round added its start-up to the noise).
  const apps = new Map<string, Awaited<ReturnType<typeof startProcfileRole>>>();
  const rounds: Record<string, Round[]> = { small: [], large: [] };
  try {
    for (const size of sizes) apps.set(size.name, await startProcfileRole('app', 'web', envFor(size.url), async (url) => (await fetch(`${url}/healthz`)).ok, ROOT));
    const trafficOf = (name: string) => {
      const { seeded, counters } = data.get(name)!;
      return codeTraffic(seeded, seeded.successResourceId, (i) => hotp(seeded.seeds[i], counters[i]++), true);
    };
    for (const size of sizes) await runLoad(apps.get(size.name)!.url, trafficOf(size.name), options.connections, options.warmupS);
    for (let round = 0; round < options.rounds; round++) {
      for (const size of round % 2 === 0 ? sizes : [...sizes].reverse()) {
        const app = apps.get(size.name)!;
        await new Promise((r) => setTimeout(r, 500));
        const blocks0 = await blocksOf(size.url);
        const cpuUsed = startCpuCount(app.pid, new URL(size.url).pathname.slice(1));
        const load = await runLoad(app.url, trafficOf(size.name), options.connections, options.durationS);
        const cpuUse = cpuUsed();
        const cpu = cpuPerRequestUs(cpuUse, load.responses);
        await new Promise((resolve) => setTimeout(resolve, 1500)); // the backends flush their statistics
        const blocks1 = await blocksOf(size.url);
        const perCheck = (n: number) => Math.round((n / Math.max(1, load.responses)) * 10) / 10;
        const r: Round = { rps: load.rps, p99_ms: load.p99_ms, app_us: cpu.server, postgres_us: cpu.postgres, postgres_db_us: cpu.postgres_db, postgres_db_system_us: cpu.postgres_db_system, minor_faults_per_check: cpuUse.postgres_db_minor_faults === undefined ? undefined : perCheck(cpuUse.postgres_db_minor_faults), reads_per_check: perCheck(blocks1.read - blocks0.read), reads_by_relation: topReads(blocks0.readsOf, blocks1.readsOf, load.responses), hits_per_check: perCheck(blocks1.hit - blocks0.hit), wal_bytes_per_check: Math.round((blocks1.walBytes - blocks0.walBytes) / Math.max(1, load.responses)), fpi_per_check: perCheck(blocks1.fpi - blocks0.fpi), errors: errorsOf(load) };
        rounds[size.name].push(r);
        log(`round ${round + 1} ${size.name}: ${r.rps} checks/s, p99 ${r.p99_ms} ms, CPU per check app ${r.app_us} µs, PostgreSQL ${r.postgres_us} µs (its backends ${r.postgres_db_us} µs, ${r.postgres_db_system_us} µs of it in the kernel, ${r.minor_faults_per_check} minor page faults), blocks per check read ${r.reads_per_check} (${Object.entries(r.reads_by_relation).map(([name, n]) => `${name} ${n}`).join(', ')}) hit ${r.hits_per_check}, WAL per check ${r.wal_bytes_per_check} B (${r.fpi_per_check} full pages), errors ${r.errors}`);
      }
    }
  } finally {
    for (const app of apps.values()) await app.stop();
  }

  const summary = (name: string) => ({
    rps: median(rounds[name].map((r) => r.rps)),
    app_us: median(rounds[name].map((r) => r.app_us ?? NaN)),
    postgres_us: median(rounds[name].map((r) => r.postgres_us ?? NaN)),
    postgres_db_us: median(rounds[name].map((r) => r.postgres_db_us ?? NaN)),
    postgres_db_system_us: median(rounds[name].map((r) => r.postgres_db_system_us ?? NaN)),
    minor_faults_per_check: median(rounds[name].map((r) => r.minor_faults_per_check ?? NaN)),
    reads_per_check: median(rounds[name].map((r) => r.reads_per_check)),
    hits_per_check: median(rounds[name].map((r) => r.hits_per_check)),
    wal_bytes_per_check: median(rounds[name].map((r) => r.wal_bytes_per_check)),
    fpi_per_check: median(rounds[name].map((r) => r.fpi_per_check)),
  });
  const small = summary('small');
  const large = summary('large');
  const change = (a: number, b: number) => Math.round(((b - a) / a) * 1000) / 10;
  // Round i of each size ran back to back (small then large, or large then small), so a pair shares
  // the machine's state of the moment (another tenant's load on the host, CPU frequency): the median
  // of the pairs' changes is steadier than the change between the medians when that state drifts.
  const pairs = rounds.small.map((s, i) => ({ rps: change(s.rps, rounds.large[i].rps), postgres_db_us: change(s.postgres_db_us ?? NaN, rounds.large[i].postgres_db_us ?? NaN) }));
  const result = {
    small: { users: options.small, tokens: options.small, ...small },
    large: { users: options.users, tokens: options.tokens, ...large },
    change_percent: { rps: change(small.rps, large.rps), app_us: change(small.app_us, large.app_us), postgres_us: change(small.postgres_us, large.postgres_us), postgres_db_us: change(small.postgres_db_us, large.postgres_db_us) },
    paired_change_percent: { rps: median(pairs.map((p) => p.rps)), postgres_db_us: median(pairs.map((p) => p.postgres_db_us)), each_pair_rps: pairs.map((p) => p.rps) },
    target_percent: 10,
    rounds,
    connections: options.connections,
    duration_s: options.durationS,
    measured_at: new Date().toISOString(),
  };
  log(`medians: small ${small.rps} checks/s (app ${small.app_us} µs, its PostgreSQL backends ${small.postgres_db_us} µs); large ${large.rps} checks/s (app ${large.app_us} µs, backends ${large.postgres_db_us} µs); change ${JSON.stringify(result.change_percent)} %; paired rounds: throughput ${JSON.stringify(result.paired_change_percent.each_pair_rps)} %, median ${result.paired_change_percent.rps} %`);
  return result;
}
