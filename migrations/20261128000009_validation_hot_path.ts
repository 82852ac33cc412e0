import type { Knex } from 'knex';

/**
 * Storage settings for the validation hot path (SPEC §8, docs/performance.md).
 *
 * - audit_events loses its foreign key to tenants. Each insert had to take a key-share lock on
 *   the tenant's row, so every concurrent check of a tenant wrote a lock to the same row (a
 *   multixact once two overlap): the finishing statements of the authenticate path queued on it.
 *   The log is append-only and tenants are never deleted; tenant_id stays NOT NULL and indexed.
 * - tokens and resource_users keep 15 % of each page free, so the counter, step and fail-count
 *   updates of every check stay HOT (no new index entries).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS audit_events_tenant_id_foreign');
  await knex.raw('ALTER TABLE tokens SET (fillfactor = 85)');
  await knex.raw('ALTER TABLE resource_users SET (fillfactor = 85)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE resource_users RESET (fillfactor)');
  await knex.raw('ALTER TABLE tokens RESET (fillfactor)');
  await knex.raw('ALTER TABLE audit_events ADD CONSTRAINT audit_events_tenant_id_foreign FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE');
}
