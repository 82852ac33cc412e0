import type { Knex } from 'knex';

/**
 * The users' search text as a stored generated column, with the trigram index on it. A search
 * matching most of a tenant (an email domain) tests every row: computing lower() of the
 * concatenated login, email and names per row was over half of that cost (100 000 rows: 160–200 ms
 * with the expression, 67–92 ms without lower() alone, on the loaded bench machine;
 * docs/performance.md). Rewrites the users table once.
 */
const SEARCH_TEXT = `lower(login || ' ' || coalesce(email, '') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, ''))`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE users ADD COLUMN search_text text GENERATED ALWAYS AS (${SEARCH_TEXT}) STORED`);
  await knex.raw('DROP INDEX IF EXISTS users_search_trgm');
  await knex.raw('CREATE INDEX users_search_trgm ON users USING gin (search_text gin_trgm_ops)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS users_search_trgm');
  await knex.raw('ALTER TABLE users DROP COLUMN search_text');
  await knex.raw(`CREATE INDEX users_search_trgm ON users USING gin ((${SEARCH_TEXT}) gin_trgm_ops)`);
}
