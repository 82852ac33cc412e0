/**
 * Process: benchmarks (`npm run bench -- <name> [options]`). Everything runs on this machine, on
 * loopback only, bounded in time; results go to bench/results/<name>.json and to stdout.
 *
 * The benches, their options and hard stops are the BENCHES table below (`npm run bench` alone
 * lists them).
 *
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/mfa_bench) names a database the
 * bench DROPS and recreates on every run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchValidate } from './validate';
import { benchImport } from './import';
import { benchUserImport } from './user-import';
import { benchRadius } from './radius';
import { benchEmail } from './email';
import { benchAudit } from './audit';
import { benchLists } from './lists';
import { benchValidateScale } from './validate-scale';

const RESULTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'results');

type Values = Record<string, string | boolean | undefined>;
type Log = (line: string) => void;

/** `--flag` as a whole number in [min, max], or `fallback` when absent. */
function int(values: Values, flag: string, fallback: number, min: number, max: number): number {
  const value = values[flag];
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be a whole number from ${min} to ${max}`);
  return n;
}

/** The database a bench drops and recreates: `BENCH_<NAME>_DATABASE_URL`, or a local one named after it. */
const database = (env: string, name: string) => process.env[env] ?? `postgres://postgres@127.0.0.1:5432/${name}`;

interface Bench {
  usage: string;
  /** Hard stop in minutes (lib/processes.ts kills the bench's servers on exit). */
  minutes: number;
  run(values: Values, log: Log): Promise<unknown>;
}

const BENCHES: Record<string, Bench> = {
  validate: {
    usage: '[--duration 10] [--warmup 3] [--connections 64] [--users 5000] [--pool 10]',
    minutes: 10,
    run: (v, log) => benchValidate({ databaseUrl: database('BENCH_DATABASE_URL', 'mfa_bench'), durationS: int(v, 'duration', 10, 1, 120), warmupS: int(v, 'warmup', 3, 1, 60), connections: int(v, 'connections', 64, 1, 1000), users: int(v, 'users', 5000, 100, 100_000), poolMax: int(v, 'pool', 10, 1, 90), log }),
  },
  import: {
    usage: '[--runs 3]   (10 000 hardware tokens from CSV and from PSKC)',
    minutes: 10,
    run: (v, log) => benchImport({ databaseUrl: database('BENCH_IMPORT_DATABASE_URL', 'mfa_bench_import'), tokens: 10_000, runs: int(v, 'runs', 3, 1, 10), log }),
  },
  'user-import': {
    usage: '[--users 100000]   (users from CSV, upload to done, then the same file again)',
    minutes: 10,
    run: (v, log) => benchUserImport({ databaseUrl: database('BENCH_USER_IMPORT_DATABASE_URL', 'mfa_bench_user_import'), users: int(v, 'users', 100_000, 100, 200_000), log }),
  },
  radius: {
    usage: '[--duration 10] [--warmup 3] [--concurrency 32] [--users 5000]   (API directly vs through the RADIUS connector)',
    minutes: 10,
    run: (v, log) => benchRadius({ databaseUrl: database('BENCH_RADIUS_DATABASE_URL', 'mfa_bench_radius'), durationS: int(v, 'duration', 10, 1, 120), warmupS: int(v, 'warmup', 3, 1, 60), concurrency: int(v, 'concurrency', 32, 1, 256), users: int(v, 'users', 5000, 100, 100_000), log }),
  },
  email: {
    usage: '[--requests 50] [--rounds 3] [--smtp-delay 0]   (concurrent email codes, request to delivery at an SMTP sink)',
    minutes: 10,
    run: (v, log) => benchEmail({ databaseUrl: database('BENCH_EMAIL_DATABASE_URL', 'mfa_bench_email'), requests: int(v, 'requests', 50, 1, 500), rounds: int(v, 'rounds', 3, 1, 20), smtpDelayMs: int(v, 'smtp-delay', 0, 0, 5000), log }),
  },
  audit: {
    usage: '[--events 1000000] [--runs 30]   (audit log pages, filters, search and CSV export)',
    minutes: 10,
    run: (v, log) => benchAudit({ databaseUrl: database('BENCH_AUDIT_DATABASE_URL', 'mfa_bench_audit'), events: int(v, 'events', 1_000_000, 1000, 5_000_000), runs: int(v, 'runs', 30, 5, 1000), log }),
  },
  lists: {
    usage: '[--users 100000] [--events 1000000] [--runs 30] [--keep] [--only name]   (every console and API list, two tenants of that size)',
    minutes: 20, // seeds 2 × 1.2 M rows first
    run: (v, log) => benchLists({ databaseUrl: database('BENCH_LISTS_DATABASE_URL', 'mfa_bench_lists'), users: int(v, 'users', 100_000, 100, 200_000), events: int(v, 'events', 1_000_000, 0, 5_000_000), runs: int(v, 'runs', 30, 5, 1000), keep: v.keep === true, only: typeof v.only === 'string' ? v.only : undefined, log }),
  },
  'validate-scale': {
    usage: '[--small 1000] [--users 100000] [--tokens 1000000] [--rounds 7] [--duration 10] [--warmup 10]   (validation cost at two data sizes, alternated)',
    minutes: 20, // seeds 1.1 M tokens, then 2 × rounds loads
    run: (v, log) => benchValidateScale({ smallUrl: database('BENCH_SMALL_DATABASE_URL', 'mfa_bench_small'), largeUrl: database('BENCH_LARGE_DATABASE_URL', 'mfa_bench_large'), small: int(v, 'small', 1000, 100, 100_000), users: int(v, 'users', 100_000, 100, 200_000), tokens: int(v, 'tokens', 1_000_000, 100, 2_000_000), rounds: int(v, 'rounds', 7, 1, 15), durationS: int(v, 'duration', 10, 1, 120), warmupS: int(v, 'warmup', 10, 1, 60), connections: int(v, 'connections', 64, 1, 1000), log }),
  },
};

const USAGE = Object.entries(BENCHES).map(([name, b], i) => `${i === 0 ? 'Usage: ' : '       '}npm run bench -- ${name} ${b.usage}`).join('\n');

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { duration: { type: 'string' }, warmup: { type: 'string' }, connections: { type: 'string' }, users: { type: 'string' }, pool: { type: 'string' }, runs: { type: 'string' }, concurrency: { type: 'string' }, requests: { type: 'string' }, rounds: { type: 'string' }, 'smtp-delay': { type: 'string' }, events: { type: 'string' }, keep: { type: 'boolean' }, only: { type: 'string' }, small: { type: 'string' }, tokens: { type: 'string' } },
  });
  const [name] = positionals;
  const bench = BENCHES[name ?? ''];
  if (!bench) {
    console.error(USAGE);
    return 2;
  }
  const deadline = setTimeout(() => {
    console.error(`[bench] stopped: still running after ${bench.minutes} minutes`);
    process.exit(1);
  }, bench.minutes * 60_000);
  deadline.unref();
  const result = await bench.run(values, (line) => console.error(`[bench] ${line}`));
  mkdirSync(RESULTS, { recursive: true });
  const text = JSON.stringify(result, null, 2);
  writeFileSync(path.join(RESULTS, `${name}.json`), `${text}\n`);
  console.log(text);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
