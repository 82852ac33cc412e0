/**
 * `npm run bench -- audit`: the audit log at 1 000 000 events in one tenant (plus 200 000 of
 * another tenant), seeded by bulk SQL. Times the service's `list` (the keys query and the names
 * query, what the console and GET /api/v1/audit-events run) for page 1, a deep cursor page, each
 * filter and the search, and streams the whole log as CSV once. Target (issue 13 §3): p95 < 50 ms.
 */
import { Writable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import { recreateDatabase } from '../src/db/database-admin';
import { loadConfig } from '../src/config';
import { createServices } from '../src/services';
import { createLogger } from '../src/lib/logger';
import { parseAuditQuery } from '../src/audit/audit-filter';
import { CSV_HEADER, csvCells } from '../src/audit/audit-rows';
import { csvCell } from '../src/lib/csv-cell';
import type { Actor } from '../src/audit/actor';
import { seedAuditEvents } from '../test/helpers/audit-seed';
import { benchServerEnv } from './lib/server-env';

v8.setFlagsFromString('--expose-gc');

export interface AuditBenchOptions {
  databaseUrl: string;
  events: number;
  runs: number;
  log: (line: string) => void;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round = (n: number) => Number(n.toFixed(2));

export async function benchAudit(options: AuditBenchOptions) {
  await recreateDatabase(options.databaseUrl);
  const config = loadConfig(benchServerEnv(options.databaseUrl));
  const services = await createServices(config, { log: createLogger('warn'), migrate: true });
  const { db } = services;
  try {
    async function tenantWith(name: string) {
      const { tenant, admin } = await services.admins.createTenant({ organisation: name, email: `${name.toLowerCase().replace(/\W/g, '')}-${Date.now()}@example.test`, password: 'bench passphrase' });
      const actor: Actor = { tenantId: tenant.id, type: 'admin', id: admin.id, label: 'bench', role: 'owner' };
      const resourceIds: string[] = [];
      for (const r of ['Corporate VPN', 'Wiki', 'Mail', 'CRM', 'Git']) resourceIds.push((await services.resources.create(actor, { name: r })).id);
      const apiKeyIds: string[] = [];
      for (const k of ['VPN gateway', 'Wiki SSO', 'Provisioning']) apiKeyIds.push((await services.apiKeys.create(actor, { name: k })).key.id);
      const users: Array<{ id: string }> = await db.raw(
        `INSERT INTO users (tenant_id, login, email) SELECT ?, 'user' || g, 'user' || g || '@example.test' FROM generate_series(0, 4999) g RETURNING id`, [tenant.id],
      ).then((r: { rows: Array<{ id: string }> }) => r.rows);
      return { actor, tenantId: tenant.id, adminId: admin.id, resourceIds, apiKeyIds, userIds: users.map((u) => u.id) };
    }
    const mine = await tenantWith('Audit bench');
    const other = await tenantWith('Other tenant');
    let started = performance.now();
    await seedAuditEvents(db, { tenantId: mine.tenantId, count: options.events, userIds: mine.userIds, resourceIds: mine.resourceIds, apiKeyIds: mine.apiKeyIds, adminIds: [mine.adminId] });
    await seedAuditEvents(db, { tenantId: other.tenantId, count: Math.round(options.events / 5), userIds: other.userIds, resourceIds: other.resourceIds, apiKeyIds: other.apiKeyIds, adminIds: [other.adminId] });
    const seedS = (performance.now() - started) / 1000;
    options.log(`seeded ${options.events} + ${Math.round(options.events / 5)} events in ${seedS.toFixed(1)} s`);
    // As autovacuum would in time: statistics for the planner, the visibility map for index-only scans.
    await db.raw('VACUUM ANALYZE');
    const tableMb = Number((await db.raw(`SELECT pg_total_relation_size('audit_events') / 1048576 AS mb`)).rows[0].mb);

    const deep = (await db('audit_events').where({ tenant_id: mine.tenantId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).offset(Math.floor(options.events * 0.9)).first('id')).id as number;
    const weekAgo6Months = new Date(Date.now() - 182 * 86_400_000);
    const day = (d: Date) => d.toISOString().slice(0, 10);
    const cases: Record<string, Record<string, string>> = {
      page_1: {},
      deep_cursor_90pct: { before: String(deep) },
      time_range_one_week_6_months_ago: { from: day(weekAgo6Months), to: day(new Date(weekAgo6Months.getTime() + 6 * 86_400_000)) },
      actor_type_system_rare: { actorType: 'system' },
      actor_type_admin: { actorType: 'admin' },
      actor_api_key_by_name: { actor: 'VPN gateway' },
      actor_user_by_login: { actor: 'user4475' },
      action_authenticate: { action: 'authenticate' },
      action_rare_admin_role_change: { action: 'admin.role.change' },
      resource: { resource: mine.resourceIds[2] },
      user_by_login: { user: 'user4242' },
      result_failure: { result: 'failure' },
      search_user_login: { q: 'user777' },
      search_resource_name: { q: 'Wiki' },
      search_api_key_name: { q: 'Provisioning' },
      action_and_resource: { action: 'authenticate', resource: mine.resourceIds[1] },
      resource_and_failure: { resource: mine.resourceIds[0], result: 'failure' },
      user_and_time_range: { user: 'user99', from: day(weekAgo6Months), to: day(new Date()) },
      action_and_time_range_deep: { action: 'user.block', to: day(weekAgo6Months) },
      limited_admin_two_resources: {},
    };
    const limited: Actor = { ...mine.actor, resourceIds: mine.resourceIds.slice(0, 2) };
    const results: Record<string, { p50_ms: number; p95_ms: number; items: number }> = {};
    for (const [name, query] of Object.entries(cases)) {
      const { filter, page } = parseAuditQuery(query, { strict: true });
      const actor = name === 'limited_admin_two_resources' ? limited : mine.actor;
      let items = 0;
      for (let i = 0; i < 3; i++) items = (await services.audit.list(actor, filter, page)).items.length; // warm-up
      const times: number[] = [];
      for (let i = 0; i < options.runs; i++) {
        const t = performance.now();
        await services.audit.list(actor, filter, page);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      results[name] = { p50_ms: round(percentile(times, 50)), p95_ms: round(percentile(times, 95)), items };
      options.log(`${name}: p50 ${results[name].p50_ms} ms, p95 ${results[name].p95_ms} ms (${items} events)`);
    }

    // The whole log as CSV into a sink that drops it. Halfway, after a forced collection, the heap
    // holds what the export keeps (one batch); the peak without collections is mostly garbage not yet collected.
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeap = heapBefore;
    let heldHalfway = 0;
    let rows = 0;
    let bytes = 0;
    const sink = new Writable({ write(chunk, _enc, done) { bytes += chunk.length; done(); } });
    started = performance.now();
    sink.write(`${CSV_HEADER.join(',')}\r\n`);
    for await (const batch of services.audit.export(mine.actor, {})) {
      rows += batch.length;
      sink.write(`${batch.map((e) => csvCells(e).map(csvCell).join(',')).join('\r\n')}\r\n`);
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      if (!heldHalfway && rows >= options.events / 2) {
        gc();
        heldHalfway = process.memoryUsage().heapUsed - heapBefore;
      }
    }
    const exportS = (performance.now() - started) / 1000;
    options.log(`CSV export: ${rows} rows, ${(bytes / 1048576).toFixed(0)} MB in ${exportS.toFixed(1)} s, heap held halfway +${(heldHalfway / 1048576).toFixed(1)} MB, peak before collection +${((peakHeap - heapBefore) / 1048576).toFixed(1)} MB`);

    const worstP95 = Math.max(...Object.values(results).map((r) => r.p95_ms));
    return {
      events: options.events,
      other_tenant_events: Math.round(options.events / 5),
      runs: options.runs,
      seed_s: round(seedS),
      table_with_indexes_mb: tableMb,
      target_p95_ms: 50,
      worst_p95_ms: worstP95,
      queries: results,
      csv_export: { rows, mb: round(bytes / 1048576), s: round(exportS), rows_per_s: Math.round(rows / exportS), heap_held_halfway_mb: round(heldHalfway / 1048576), peak_heap_growth_uncollected_mb: round((peakHeap - heapBefore) / 1048576) },
    };
  } finally {
    await services.close();
  }
}
