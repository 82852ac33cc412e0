/**
 * Process: benchmarks (`npm run bench -- <name> [options]`). Everything runs on this machine, on
 * loopback only, bounded in time; results go to bench/results/<name>.json and to stdout.
 *
 *   npm run bench -- validate [--duration 10] [--warmup 3] [--connections 64] [--users 5000] [--pool 10]
 *   npm run bench -- import [--runs 3]   (10 000 hardware tokens from CSV and from PSKC)
 *   npm run bench -- user-import [--users 100000]   (users from CSV, upload to done, then the same file again)
 *   npm run bench -- radius [--duration 10] [--warmup 3] [--concurrency 32] [--users 5000]   (API directly vs through the RADIUS connector)
 *   npm run bench -- email [--requests 50] [--rounds 3] [--smtp-delay 0]   (concurrent email codes, request to delivery at an SMTP sink)
 *   npm run bench -- audit [--events 1000000] [--runs 30]   (audit log pages, filters, search and CSV export)
 *   npm run bench -- lists [--users 100000] [--events 1000000] [--runs 30] [--keep] [--only name]   (every console and API list, two tenants of that size)
 *   npm run bench -- validate-scale [--small 1000] [--users 100000] [--tokens 1000000] [--rounds 3] [--duration 10]   (validation cost at two data sizes, alternated)
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
const USAGE = 'Usage: npm run bench -- validate [--duration 10] [--warmup 3] [--connections 64] [--users 5000] [--pool 10]\n       npm run bench -- import [--runs 3]\n       npm run bench -- user-import [--users 100000]\n       npm run bench -- radius [--duration 10] [--warmup 3] [--concurrency 32] [--users 5000]\n       npm run bench -- email [--requests 50] [--rounds 3] [--smtp-delay 0]\n       npm run bench -- audit [--events 1000000] [--runs 30]\n       npm run bench -- lists [--users 100000] [--events 1000000] [--runs 30] [--keep] [--only name]\n       npm run bench -- validate-scale [--small 1000] [--users 100000] [--tokens 1000000] [--rounds 3] [--duration 10]';
/** Hard stop: whatever happens, the bench ends (lib/processes.ts kills its servers on exit). */
// lists seeds 2 × 1.2 M rows first; validate-scale 1.1 M tokens and then runs 2 × rounds loads.
const DEADLINE_MS = (process.argv.includes('lists') || process.argv.includes('validate-scale') ? 20 : 10) * 60_000;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { duration: { type: 'string' }, warmup: { type: 'string' }, connections: { type: 'string' }, users: { type: 'string' }, pool: { type: 'string' }, runs: { type: 'string' }, concurrency: { type: 'string' }, requests: { type: 'string' }, rounds: { type: 'string' }, 'smtp-delay': { type: 'string' }, events: { type: 'string' }, keep: { type: 'boolean' }, only: { type: 'string' }, small: { type: 'string' }, tokens: { type: 'string' } },
  });
  const [name] = positionals;
  if (name !== 'validate' && name !== 'import' && name !== 'user-import' && name !== 'radius' && name !== 'email' && name !== 'audit' && name !== 'lists' && name !== 'validate-scale') {
    console.error(USAGE);
    return 2;
  }
  const int = (value: string | undefined, fallback: number, min: number, max: number, flag: string) => {
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const log = (line: string) => console.error(`[bench] ${line}`);
  const result =
    name === 'validate-scale'
      ? await benchValidateScale({
          smallUrl: process.env.BENCH_SMALL_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench_small',
          largeUrl: process.env.BENCH_LARGE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench_large',
          small: int(values.small, 1000, 100, 100_000, 'small'),
          users: int(values.users, 100_000, 100, 200_000, 'users'),
          tokens: int(values.tokens, 1_000_000, 100, 2_000_000, 'tokens'),
          rounds: int(values.rounds, 3, 1, 10, 'rounds'),
          durationS: int(values.duration, 10, 1, 120, 'duration'),
          warmupS: int(values.warmup, 3, 1, 60, 'warmup'),
          connections: int(values.connections, 64, 1, 1000, 'connections'),
          log,
        })
      : name === 'lists'
      ? await benchLists({
          databaseUrl: process.env.BENCH_LISTS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench_lists',
          users: int(values.users, 100_000, 100, 200_000, 'users'),
          events: int(values.events, 1_000_000, 0, 5_000_000, 'events'),
          runs: int(values.runs, 30, 5, 1000, 'runs'),
          keep: values.keep === true,
          only: values.only,
          log,
        })
      : name === 'audit'
      ? await benchAudit({
          databaseUrl: process.env.BENCH_AUDIT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench_audit',
          events: int(values.events, 1_000_000, 1000, 5_000_000, 'events'),
          runs: int(values.runs, 30, 5, 1000, 'runs'),
          log,
        })
      : name === 'email'
      ? await benchEmail({
          databaseUrl: process.env.BENCH_EMAIL_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench_email',
          requests: int(values.requests, 50, 1, 500, 'requests'),
          rounds: int(values.rounds, 3, 1, 20, 'rounds'),
          smtpDelayMs: int(values['smtp-delay'], 0, 0, 5000, 'smtp-delay'),
          log,
        })
      : name === 'radius'
      ? await benchRadius({
          databaseUrl: process.env.BENCH_RADIUS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench_radius',
          durationS: int(values.duration, 10, 1, 120, 'duration'),
          warmupS: int(values.warmup, 3, 1, 60, 'warmup'),
          concurrency: int(values.concurrency, 32, 1, 256, 'concurrency'),
          users: int(values.users, 5000, 100, 100_000, 'users'),
          log,
        })
      : name === 'user-import'
      ? await benchUserImport({
          databaseUrl: process.env.BENCH_USER_IMPORT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench_user_import',
          users: int(values.users, 100_000, 100, 200_000, 'users'),
          log,
        })
      : name === 'import'
      ? await benchImport({
          databaseUrl: process.env.BENCH_IMPORT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench_import',
          tokens: 10_000,
          runs: int(values.runs, 3, 1, 10, 'runs'),
          log,
        })
      : await benchValidate({
          databaseUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench',
          durationS: int(values.duration, 10, 1, 120, 'duration'),
          warmupS: int(values.warmup, 3, 1, 60, 'warmup'),
          connections: int(values.connections, 64, 1, 1000, 'connections'),
          users: int(values.users, 5000, 100, 100_000, 'users'),
          poolMax: int(values.pool, 10, 1, 90, 'pool'),
          log,
        });
  mkdirSync(RESULTS, { recursive: true });
  const text = JSON.stringify(result, null, 2);
  writeFileSync(path.join(RESULTS, `${name}.json`), `${text}\n`);
  console.log(text);
  return 0;
}

const deadline = setTimeout(() => {
  console.error(`[bench] stopped: still running after ${DEADLINE_MS / 60_000} minutes`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
