import type { Knex } from 'knex';

/**
 * The exact total of a search that matches most of a tenant (an email domain: a common admin
 * search) tests every user's search text. Read from the heap, that is a visit of every row and a
 * walk of its columns to the last one: 27 ms for 100 000 users as a bitmap heap scan, 38 ms as the
 * parallel scan the planner picks when a tenant is half the table. This index holds the tenant and
 * the text only, so the count is an index-only scan: 20 ms (docs/performance.md, "Fifth pass").
 * The plain (tenant_id) index stays: deduplicated, it counts an unfiltered total in a tenth of the
 * pages. Updates that change the search text were never HOT (the trigram index holds it too).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS users_tenant_search_text_idx ON users (tenant_id) INCLUDE (search_text)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS users_tenant_search_text_idx');
}
