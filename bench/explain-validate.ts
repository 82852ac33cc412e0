/**
 * `npx tsx bench/explain-validate.ts [batch]`: EXPLAIN (ANALYZE, BUFFERS) of the validation path's
 * two statements (src/validation/attempt.repository.ts) on the database a validate bench left
 * (BENCH_DATABASE_URL), for `batch` random users of its success resource (default 8, a typical
 * batch under load). The finish statement runs in a transaction that is rolled back. Also prints
 * the sizes of the tables the path touches and how many of their updates were HOT. Run it after
 * `npm run bench -- validate --users N` at each size and compare (docs/performance.md).
 */
import knex from 'knex';
import { BEGIN_SQL, FINISH_SQL } from '../src/validation/attempt.repository';

const db = knex({ client: 'pg', connection: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench', pool: { min: 1, max: 1 } });
const batch = Number(process.argv[2] ?? 8);
/** EXPLAIN runs per statement: on a loaded machine one run's time is noise, the median is not. */
const RUNS = Number(process.argv[3] ?? 15);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timeOf = (plan: Array<Record<string, string>>) => Number(plan.map((l) => l['QUERY PLAN']).find((l) => l.startsWith('Execution Time'))!.match(/[\d.]+/)![0]);
const beginTimes: number[] = [];
const finishTimes: number[] = [];
try {
  const resource = await db('resources').where({ name: 'Bench VPN' }).first('id', 'tenant_id');
  const members = await db.raw(
    `SELECT u.id, u.login, t.id AS token_id, t.hotp_counter FROM resource_users ru JOIN users u ON u.id = ru.user_id JOIN tokens t ON t.user_id = u.id
      WHERE ru.resource_id = ? ORDER BY random() LIMIT ?`, [resource.id, batch]);
  const rows = members.rows as Array<{ id: string; login: string; token_id: string; hotp_counter: string }>;
  const keys = rows.map((r, idx) => ({ idx, tenant_id: resource.tenant_id, resource_id: resource.id, login: r.login, has_otp: true, has_password: false }));
  const show = (title: string, plan: Array<Record<string, string>>) => {
    console.log(`\n=== ${title}`);
    for (const line of plan) console.log(line['QUERY PLAN']);
  };
  // pg itself, for its $n parameters. Twice: the first warms the buffers, the second is the one to read.
  const pg = await db.client.acquireConnection();
  for (let run = 0; run <= RUNS; run++) {
    const begin = await pg.query(`EXPLAIN (ANALYZE, BUFFERS) ${BEGIN_SQL}`, [JSON.stringify(keys), ['hotp', 'totp'], keys.length]);
    if (run === 1) show(`begin (${batch} keys)`, begin.rows);
    if (run > 0) beginTimes.push(timeOf(begin.rows));
  }
  const ends = rows.map((r, idx) => ({
    idx, kind: 'hotp', gated: true, tenant_id: resource.tenant_id, resource_id: resource.id, user_id: r.id, token_id: r.token_id,
    counter: Number(r.hotp_counter), step: null, drift: null, lim: 10, lock_minutes: 1, count_tokens: false,
    actor_type: 'api_key', actor_id: null, actor_label: 'bench', ip: '127.0.0.1', user_agent: null, login: r.login, reason: 'ok', token_serial: 'X', token_type: 'hotp',
  }));
  for (let run = 0; run <= RUNS; run++) {
    await pg.query('BEGIN');
    const finish = await pg.query(`EXPLAIN (ANALYZE, BUFFERS) ${FINISH_SQL}`, [JSON.stringify(ends), ends.length]);
    await pg.query('ROLLBACK');
    if (run === 1) show(`finish (${batch} successes, rolled back)`, finish.rows);
    if (run > 0) finishTimes.push(timeOf(finish.rows));
  }
  console.log(`\n=== execution time, median of ${RUNS}: begin ${median(beginTimes).toFixed(3)} ms, finish ${median(finishTimes).toFixed(3)} ms (${batch} keys)`);
  await db.client.releaseConnection(pg);
  const stats = await db.raw(
    `SELECT relname, n_live_tup, n_tup_upd, n_tup_hot_upd, pg_size_pretty(pg_relation_size(relid)) AS heap, pg_size_pretty(pg_indexes_size(relid)) AS indexes
       FROM pg_stat_user_tables WHERE relname IN ('users', 'tokens', 'resource_users', 'token_resources', 'audit_events') ORDER BY relname`);
  console.log('\n=== tables');
  console.table(stats.rows);
} finally {
  await db.destroy();
}
