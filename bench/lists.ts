/**
 * `npm run bench -- lists`: every list of the console and the API (issue 14) with 100 000 users,
 * 100 000 tokens and 1 000 000 audit events in one tenant, and a second tenant of the same size so
 * tenant scoping is exercised. Seeds by bulk SQL, then times sequential HTTP requests through the
 * real app in this process (supertest: API key for the API, a signed-in agent for the console):
 * page 1, a deep page, a prefix and a substring search. Target (SPEC §8): p95 < 50 ms.
 */
import request from 'supertest';
import { recreateDatabase } from '../src/db/database-admin';
import { loadConfig } from '../src/config';
import { createServices, type Services } from '../src/services';
import { createApp } from '../src/app';
import { createLogger } from '../src/lib/logger';
import { seedAuditEvents } from '../test/helpers/audit-seed';
import { createTenant, type TestTenant } from '../test/helpers/factories';
import { signIn } from '../test/helpers/admin-agent';
import { seedListData } from '../test/helpers/list-seed';

export interface ListsBenchOptions {
  databaseUrl: string;
  users: number;
  events: number;
  runs: number;
  /** Reuse the database a previous run seeded (migrating it), instead of dropping and seeding it again. */
  keep: boolean;
  /** Only the cases whose name contains this text (all without it). */
  only?: string;
  log: (line: string) => void;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round = (n: number) => Number(n.toFixed(2));

async function seedTenant(services: Services, options: ListsBenchOptions) {
  const tenant = await createTenant(services);
  const seeded = await seedListData(services.db, tenant.tenantId, { users: options.users });
  const apiKeyIds = (await services.db('api_keys').where({ tenant_id: tenant.tenantId }).pluck('id')) as string[];
  const sampleUsers = seeded.userIds.filter((_, i) => i % Math.max(1, Math.floor(seeded.userIds.length / 5000)) === 0);
  await seedAuditEvents(services.db, { tenantId: tenant.tenantId, count: options.events, userIds: sampleUsers, resourceIds: seeded.resourceIds, apiKeyIds, adminIds: [tenant.adminId] });
  return { tenant, ...seeded };
}

/** The first tenant of a kept database, with a fresh enrolled TOTP secret for the console. */
async function seededTenant(services: Services) {
  const admin = await services.db('admins').orderBy('created_at').first();
  if (!admin) return undefined;
  const tenant = await services.db('tenants').where({ id: admin.tenant_id }).first('id');
  const resourceIds = (await services.db('resources').where({ tenant_id: tenant.id }).orderBy('created_at').orderBy('name').pluck('id')) as string[];
  const { authenticator } = await import('otplib');
  const { TEST_PASSWORD } = await import('../test/helpers/factories');
  const totpSecret = authenticator.generateSecret(20);
  await services.db('admins').where({ id: admin.id }).update({ totp_secret_sealed: services.adminSignIn.sealPendingTotp(admin.id, totpSecret) });
  const key = await services.apiKeys.create({ tenantId: tenant.id, type: 'admin', id: admin.id, label: admin.email, role: 'owner' }, { name: `bench ${Date.now()}` });
  const t: TestTenant = { tenantId: tenant.id, adminId: admin.id, email: admin.email, password: TEST_PASSWORD, apiKey: key.plain, totpSecret, actor: { tenantId: tenant.id, type: 'admin', id: admin.id, label: admin.email, role: 'owner' } };
  return { tenant: t, resourceIds, userIds: [] as string[] };
}

export async function benchLists(options: ListsBenchOptions) {
  if (!options.keep) await recreateDatabase(options.databaseUrl);
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: options.databaseUrl,
    DATABASE_POOL_MAX: '10',
    LOG_LEVEL: 'silent',
    BASE_URL: 'http://localhost:3000',
    CONSOLE_SIGN_IN_PER_IP: '1000000',
  });
  const services = await createServices(config, { log: createLogger('silent'), migrate: true });
  try {
    const started = performance.now();
    const kept = options.keep ? await seededTenant(services) : undefined;
    const mine = kept ?? (await seedTenant(services, options));
    if (!kept) await seedTenant(services, options); // the other tenant, of the same size
    const seedS = (performance.now() - started) / 1000;
    if (!kept) options.log(`seeded 2 tenants × (${options.users} users, ${options.users} tokens, ${options.events} audit events) in ${seedS.toFixed(1)} s`);
    // As autovacuum would in time: statistics for the planner, the visibility map for index-only scans.
    await services.db.raw('VACUUM ANALYZE');

    const app = createApp(services);
    const admin = await signIn(app, mine.tenant as TestTenant);
    const api = (path: string) => request(app).get(path).set('Authorization', `Bearer ${mine.tenant.apiKey}`);
    const big = mine.resourceIds[0];
    const small = mine.resourceIds[1];
    const deepUsers = Math.floor(options.users / 25 * 0.9);
    const cases: Record<string, { get: () => request.Test }> = {};
    const add = (name: string, path: string, kind: 'api' | 'console') => { cases[name] = { get: () => (kind === 'api' ? api(path) : admin.get(path)) }; };
    for (const [prefix, kind] of [['api', 'api'], ['console', 'console']] as const) {
      const base = kind === 'api' ? '/api/v1' : '/admin';
      add(`${prefix}_users_page_1`, `${base}/users`, kind);
      add(`${prefix}_users_deep_page`, `${base}/users?page=${deepUsers}`, kind);
      add(`${prefix}_users_prefix_search`, `${base}/users?q=user0421`, kind);
      add(`${prefix}_users_substring_search`, `${base}/users?q=4217`, kind);
      add(`${prefix}_users_broad_search`, `${base}/users?q=example`, kind);
      add(`${prefix}_tokens_page_1`, `${base}/tokens`, kind);
      add(`${prefix}_tokens_deep_page`, `${base}/tokens?page=${deepUsers}`, kind);
      add(`${prefix}_tokens_prefix_search`, `${base}/tokens?q=TOTP0421`, kind);
      add(`${prefix}_tokens_substring_search`, `${base}/tokens?q=4217`, kind);
      add(`${prefix}_tokens_owner_login_search`, `${base}/tokens?q=user04217`, kind);
      add(`${prefix}_tokens_type_filter`, `${base}/tokens?type=hotp`, kind);
      add(`${prefix}_resource_users_page_1`, `${base}/resources/${big}/users`, kind);
      add(`${prefix}_resource_users_deep_page`, `${base}/resources/${big}/users?page=${deepUsers}`, kind);
      add(`${prefix}_small_resource_users_page_1`, `${base}/resources/${small}/users`, kind);
      // Enrolment filters of the 100 000-member resource (every member enrolled in the seed): the
      // whole set is tested for the exact total; an empty state still tests every member.
      add(`${prefix}_resource_users_enrolled`, `${base}/resources/${big}/users?status=enrolled`, kind);
      add(`${prefix}_resource_users_enrolled_deep_page`, `${base}/resources/${big}/users?status=enrolled&page=${deepUsers}`, kind);
      add(`${prefix}_resource_users_not_invited`, `${base}/resources/${big}/users?status=not_invited`, kind);
    }
    // The Users tab's enrolment progress panel, loaded by the tab as an htmx fragment (issue 14).
    for (const [name, id] of [['console_resource_enrollment_progress', big], ['console_small_resource_enrollment_progress', small]] as const) {
      cases[name] = { get: () => admin.get(`/admin/resources/${id}/users/progress`).set('HX-Request', 'true') };
    }
    add('api_resource_enrollment_counts', `/api/v1/resources/${big}/enrollment`, 'api');
    add('api_small_resource_enrollment_counts', `/api/v1/resources/${small}/enrollment`, 'api');
    add('api_audit_page_1', '/api/v1/audit-events', 'api');
    add('api_audit_search', '/api/v1/audit-events?q=user0421', 'api');
    add('console_audit_page_1', '/admin/audit', 'console');
    add('console_user_imports', '/admin/users/import', 'console');
    add('console_token_imports', '/admin/tokens/import', 'console');

    const results: Record<string, { p50_ms: number; p95_ms: number; status: number }> = {};
    for (const [name, c] of Object.entries(cases)) {
      if (options.only && !name.includes(options.only)) continue;
      let status = 0;
      for (let i = 0; i < 3; i++) status = (await c.get()).status; // warm-up
      const times: number[] = [];
      for (let i = 0; i < options.runs; i++) {
        const t = performance.now();
        const res = await c.get();
        times.push(performance.now() - t);
        status = res.status;
      }
      times.sort((a, b) => a - b);
      results[name] = { p50_ms: round(percentile(times, 50)), p95_ms: round(percentile(times, 95)), status };
      options.log(`${name.padEnd(40)} p50 ${String(results[name].p50_ms).padStart(8)} ms  p95 ${String(results[name].p95_ms).padStart(8)} ms  (${status})`);
    }
    const worst = Math.max(...Object.values(results).map((r) => r.p95_ms));
    return { users: options.users, tokens: options.users, events: options.events, tenants: 2, runs: options.runs, seed_s: kept ? null : round(seedS), target_p95_ms: 50, worst_p95_ms: worst, requests: results };
  } finally {
    await services.close();
  }
}
