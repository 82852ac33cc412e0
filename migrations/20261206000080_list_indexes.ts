import type { Knex } from 'knex';

/**
 * Indexes for the console and API lists at 100 000 rows per tenant (issue 14, docs/performance.md).
 * - tokens are listed newest first: (tenant_id, created_at, id) gives page 1 and the deep pages
 *   straight from the index (it was a sort of every joined row, spilling to disk); the type filter
 *   gets the same order after its type (replaces the (tenant_id, type, created_at DESC) index).
 * - token search matches serial or name anywhere: one trigram index each, combined by a BitmapOr.
 * - users are listed by lower(login): the unique index has the order but not the id, so every
 *   skipped row of a deep page was a heap fetch; this one answers the page's ids index-only.
 * - a resource's members: (tenant_id, resource_id, user_id) counts and joins them index-only.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS tokens_tenant_created_idx ON tokens (tenant_id, created_at, id)');
  await knex.raw('CREATE INDEX IF NOT EXISTS tokens_tenant_type_created_idx ON tokens (tenant_id, type, created_at, id)');
  await knex.raw('DROP INDEX IF EXISTS tokens_tenant_type_idx');
  const trgm = await knex.raw(`SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'`);
  if (trgm.rows.length > 0) {
    await knex.raw('CREATE INDEX IF NOT EXISTS tokens_serial_trgm ON tokens USING gin (lower(serial) gin_trgm_ops)');
    await knex.raw('CREATE INDEX IF NOT EXISTS tokens_name_trgm ON tokens USING gin (lower(name) gin_trgm_ops)');
  }
  await knex.raw('CREATE INDEX IF NOT EXISTS users_tenant_login_list_idx ON users (tenant_id, lower(login)) INCLUDE (id, login)');
  await knex.raw('CREATE INDEX IF NOT EXISTS resource_users_tenant_resource_idx ON resource_users (tenant_id, resource_id, user_id)');
}

export async function down(knex: Knex): Promise<void> {
  for (const name of ['tokens_tenant_created_idx', 'tokens_serial_trgm', 'tokens_name_trgm', 'users_tenant_login_list_idx', 'resource_users_tenant_resource_idx']) {
    await knex.raw(`DROP INDEX IF EXISTS ${name}`);
  }
  await knex.raw('CREATE INDEX IF NOT EXISTS tokens_tenant_type_idx ON tokens (tenant_id, type, created_at DESC)');
  await knex.raw('DROP INDEX IF EXISTS tokens_tenant_type_created_idx');
}
