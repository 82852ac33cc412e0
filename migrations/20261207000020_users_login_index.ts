import type { Knex } from 'knex';

/**
 * One index for a user by login (issue 14, docs/performance.md): unique on (tenant_id,
 * lower(login)), carrying the login and id (the list's page, index-only, as the list index did)
 * and blocked_at (the validation check's), so a check finds the user without visiting the users
 * table: one page fewer per check, and the table's pages no longer part of what a busy validation
 * path keeps in memory. `login` itself is there for the check too: PostgreSQL plans an index-only
 * scan of an expression index only when the expression's column is in the index.
 * It replaces both the plain unique index and users_tenant_login_list_idx, which held the same keys.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE UNIQUE INDEX IF NOT EXISTS users_tenant_login_key ON users (tenant_id, lower(login)) INCLUDE (id, login, blocked_at)');
  await knex.raw('DROP INDEX IF EXISTS users_tenant_login_unique');
  await knex.raw('DROP INDEX IF EXISTS users_tenant_login_list_idx');
  await knex.raw('ALTER INDEX users_tenant_login_key RENAME TO users_tenant_login_unique');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER INDEX users_tenant_login_unique RENAME TO users_tenant_login_key');
  await knex.raw('CREATE UNIQUE INDEX IF NOT EXISTS users_tenant_login_unique ON users (tenant_id, lower(login))');
  await knex.raw('CREATE INDEX IF NOT EXISTS users_tenant_login_list_idx ON users (tenant_id, lower(login)) INCLUDE (id, login)');
  await knex.raw('DROP INDEX IF EXISTS users_tenant_login_key');
}
