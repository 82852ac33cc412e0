/**
 * Many audit events in one INSERT ... SELECT generate_series, for the export test and the audit
 * bench. The mix resembles a tenant whose VPN checks dominate: mostly `authenticate` by API keys
 * (a tenth failing), portal events by users, a few admin changes and rare system events, spread
 * evenly over `spanDays` up to now. Returns nothing: callers query what they need.
 */
import type { Knex } from 'knex';

export interface AuditSeed {
  tenantId: string;
  count: number;
  userIds: string[];
  resourceIds: string[];
  apiKeyIds: string[];
  adminIds: string[];
  spanDays?: number;
  /** Rows per statement (bounds the statement's memory and WAL burst). */
  chunk?: number;
}

export async function seedAuditEvents(db: Knex, seed: AuditSeed): Promise<void> {
  const chunk = seed.chunk ?? 200_000;
  const spanSeconds = (seed.spanDays ?? 365) * 86_400;
  for (let start = 0; start < seed.count; start += chunk) {
    const end = Math.min(seed.count, start + chunk);
    await db.raw(
      `WITH p AS (SELECT ?::uuid AS tenant, ?::uuid[] AS users, ?::uuid[] AS resources, ?::uuid[] AS keys, ?::uuid[] AS admins, ?::int AS total, ?::float8 AS span)
       INSERT INTO audit_events (tenant_id, actor_type, actor_id, actor_label, action, target_type, target_id, resource_id, result, ip, user_agent, details, created_at)
       SELECT p.tenant,
              k.actor_type,
              CASE k.actor_type WHEN 'api_key' THEN p.keys[1 + g % cardinality(p.keys)]
                                WHEN 'user' THEN p.users[1 + g % cardinality(p.users)]
                                WHEN 'admin' THEN p.admins[1 + g % cardinality(p.admins)] END,
              CASE WHEN k.actor_type = 'system' THEN 'invitation reminders' END,
              k.action,
              CASE WHEN k.action LIKE 'token.%' THEN 'token' WHEN k.action LIKE 'resource.%' THEN 'resource' ELSE 'user' END,
              CASE WHEN k.action LIKE 'token.%' THEN NULL WHEN k.action LIKE 'resource.%' THEN p.resources[1 + g % cardinality(p.resources)]::text
                   ELSE p.users[1 + (g * 7) % cardinality(p.users)]::text END,
              CASE WHEN k.actor_type = 'admin' AND k.action NOT LIKE 'resource.%' THEN NULL ELSE p.resources[1 + g % cardinality(p.resources)] END,
              CASE WHEN k.action = 'authenticate' AND g % 10 = 0 THEN 'failure' ELSE 'success' END,
              '10.' || (g % 250) || '.' || (g / 250 % 250) || '.1',
              'bench',
              jsonb_build_object('login', 'user' || ((g * 7) % cardinality(p.users))),
              now() - make_interval(secs => (p.total - g) * p.span / p.total)
         FROM p, generate_series(?::int, ?::int) g
         CROSS JOIN LATERAL (SELECT CASE WHEN g % 100 < 70 THEN 'api_key' WHEN g % 100 < 92 THEN 'user' WHEN g % 10000 = 9999 THEN 'system' ELSE 'admin' END AS actor_type) a
         CROSS JOIN LATERAL (SELECT a.actor_type,
                CASE a.actor_type WHEN 'api_key' THEN 'authenticate'
                                  WHEN 'user' THEN (ARRAY['portal.sign_in', 'portal.sign_out', 'portal.token.enroll', 'portal.profile.name_change'])[1 + g % 4]
                                  WHEN 'system' THEN 'invitation.reminder'
                                  ELSE CASE WHEN g % 100000 = 92 THEN 'admin.role.change'
                                            ELSE (ARRAY['user.create', 'user.update', 'user.block', 'resource.user.assign', 'token.create', 'resource.update'])[1 + g % 6] END END AS action) k
        ORDER BY g`,
      [seed.tenantId, seed.userIds, seed.resourceIds, seed.apiKeyIds, seed.adminIds, seed.count, spanSeconds, start + 1, end],
    );
  }
}
