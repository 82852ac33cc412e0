/**
 * `npx tsx bench/audit-retention.ts [events]`: the audit retention purge at scale (issue 14).
 * Seeds `events` (default 1 670 000) spread evenly over 1 000 days in one tenant, so about
 * 1 000 000 are older than the default 400 days, then runs the purge (batches of 5 000) and
 * prints the time per statement, the total, and the table and index sizes before and after
 * (and after VACUUM). BENCH_RETENTION_DATABASE_URL names a database it DROPS and recreates.
 */
import { recreateDatabase } from '../src/db/database-admin';
import { loadConfig } from '../src/config';
import { createServices } from '../src/services';
import { createLogger } from '../src/lib/logger';
import { deleteExpiredBatch } from '../src/audit/audit-retention.repository';
import { PURGE_BATCH_SIZE } from '../src/audit/audit-retention.service';
import { recordAudit } from '../src/audit/audit.repository';
import { systemActor } from '../src/audit/actor';
import { seedAuditEvents } from '../test/helpers/audit-seed';
import { benchServerEnv } from './lib/server-env';

const databaseUrl = process.env.BENCH_RETENTION_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/mfa_bench_retention';
const events = Number(process.argv[2] ?? 1_670_000);
const log = (line: string) => console.error(`[bench] ${line}`);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

await recreateDatabase(databaseUrl);
const services = await createServices(loadConfig(benchServerEnv(databaseUrl)), { log: createLogger('warn'), migrate: true });
const { db } = services;
try {
  const { tenant, admin } = await services.admins.createTenant({ organisation: 'Retention bench', email: `retention-${Date.now()}@example.test`, password: 'bench passphrase' });
  const actor = { tenantId: tenant.id, type: 'admin' as const, id: admin.id, label: 'bench', role: 'owner' as const };
  const resourceIds = [(await services.resources.create(actor, { name: 'VPN' })).id];
  const apiKeyIds = [(await services.apiKeys.create(actor, { name: 'gateway' })).key.id];
  const userIds: string[] = (await db.raw(`INSERT INTO users (tenant_id, login) SELECT ?, 'user' || g FROM generate_series(0, 999) g RETURNING id`, [tenant.id])).rows.map((r: { id: string }) => r.id);
  let started = performance.now();
  await seedAuditEvents(db, { tenantId: tenant.id, count: events, userIds, resourceIds, apiKeyIds, adminIds: [admin.id], spanDays: 1000 });
  log(`seeded ${events} events over 1000 days in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await db.raw('VACUUM ANALYZE audit_events');
  const sizes = async () => {
    const r = (await db.raw(`SELECT pg_relation_size('audit_events') AS heap, pg_indexes_size('audit_events') AS indexes, (SELECT count(*) FROM audit_events) AS rows`)).rows[0];
    return { rows: Number(r.rows), heapMb: Math.round(Number(r.heap) / 1048576), indexesMb: Math.round(Number(r.indexes) / 1048576) };
  };
  const before = await sizes();
  const expired = Number((await db.raw(`SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND created_at < now() - interval '400 days'`, [tenant.id])).rows[0].n);
  log(`before: ${JSON.stringify(before)}, ${expired} older than 400 days`);

  // The service's purge, statement by statement, to see each one's time.
  const times: number[] = [];
  let deleted = 0;
  started = performance.now();
  for (;;) {
    const t0 = performance.now();
    const n = await db.transaction(async (trx) => {
      const count = await deleteExpiredBatch(trx, tenant.id, 400, PURGE_BATCH_SIZE);
      if (count > 0) await recordAudit(trx, systemActor(tenant.id, 'audit retention'), { action: 'audit.purged', details: { deleted: count, olderThanDays: 400 } });
      return count;
    });
    times.push(performance.now() - t0);
    deleted += n;
    if (n < PURGE_BATCH_SIZE) break;
  }
  const totalS = (performance.now() - started) / 1000;
  const sorted = [...times].sort((a, b) => a - b);
  const afterDelete = await sizes();
  started = performance.now();
  await db.raw('VACUUM audit_events');
  const vacuumS = (performance.now() - started) / 1000;
  const afterVacuum = await sizes();
  const result = {
    events, expired, deleted, statements: times.length, totalS: Number(totalS.toFixed(1)), rowsPerS: Math.round(deleted / totalS),
    statementMs: { p50: Math.round(percentile(sorted, 50)), p95: Math.round(percentile(sorted, 95)), max: Math.round(sorted.at(-1)!) },
    before, afterDelete, vacuumS: Number(vacuumS.toFixed(1)), afterVacuum,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await services.close();
}
