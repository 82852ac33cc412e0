import type { Knex } from 'knex';

/**
 * Results of a hardware token import for the API (issue 12 §2): how many tokens it created, and
 * the rows it skipped with their line (a serial another token took between the upload check and
 * the job). Imports finished before this migration get their count from the tokens they made.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('token_imports', (t) => {
    t.integer('created').notNullable().defaultTo(0);
    t.jsonb('row_errors').notNullable().defaultTo('[]');
  });
  await knex.raw(`UPDATE token_imports i SET created = (SELECT count(*) FROM tokens t WHERE t.tenant_id = i.tenant_id AND t.import_id = i.id) WHERE i.status <> 'queued'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('token_imports', (t) => {
    t.dropColumn('row_errors');
    t.dropColumn('created');
  });
}
