import type { Knex } from 'knex';

/**
 * Audit log filters and keyset paging (issue 13 §3, docs/performance.md "Audit log").
 *
 * The log is read newest first by (created_at, id) and every filter the console and the API offer
 * has an index ending in that order, so a page is one index range scan that stops after `limit`
 * rows, whatever the log's size. (tenant_id, id DESC) was only used by the old offset list.
 * Each index is one more entry per insert on the validation path: we keep to one per filter and
 * make the result index partial (failures only; success is most of the log and needs none).
 * The indexes are ascending and read backwards: new events then land on the rightmost leaf page,
 * which PostgreSQL splits leaving it full. Descending, each new event went to the leftmost page,
 * split half and half: at 1 200 000 events the (tenant_id, created_at, id) index was 102 MB, now 65 MB.
 */
const INDEXES: Array<[name: string, definition: string]> = [
  ['audit_events_tenant_created_idx', '(tenant_id, created_at, id)'],
  ['audit_events_action_idx', '(tenant_id, action, created_at, id)'],
  ['audit_events_resource_idx', '(tenant_id, resource_id, created_at, id) WHERE resource_id IS NOT NULL'],
  ['audit_events_actor_idx', '(tenant_id, actor_id, created_at, id) WHERE actor_id IS NOT NULL'],
  ['audit_events_actor_type_idx', '(tenant_id, actor_type, created_at, id)'],
  ['audit_events_target_idx', '(tenant_id, target_id, created_at, id) WHERE target_id IS NOT NULL'],
  ['audit_events_failure_idx', "(tenant_id, created_at, id) WHERE result = 'failure'"],
];

export async function up(knex: Knex): Promise<void> {
  for (const [name, definition] of INDEXES) await knex.raw(`CREATE INDEX IF NOT EXISTS ${name} ON audit_events ${definition}`);
  await knex.raw('DROP INDEX IF EXISTS audit_events_tenant_time_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS audit_events_tenant_time_idx ON audit_events (tenant_id, id DESC)');
  for (const [name] of INDEXES) await knex.raw(`DROP INDEX IF EXISTS ${name}`);
}
