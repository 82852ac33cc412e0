import type { Knex } from 'knex';

/**
 * User CSV imports (issue 12 §1): one row per uploaded file with its status and counts, and the
 * rows it skipped with their line numbers (a table, not a JSON column: a file of 100 000 bad rows
 * appends its report batch by batch without rewriting it).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_imports', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('filename').notNullable().defaultTo('');
    t.boolean('update_existing').notNullable().defaultTo(false);
    t.text('status').notNullable().defaultTo('queued').checkIn(['queued', 'running', 'done', 'failed']);
    /** The uploaded file, sealed (it holds personal data); dropped once processed. */
    t.text('file_sealed');
    t.integer('total').notNullable().defaultTo(0);
    /** Data rows handled so far, in file order: a second delivery of the job resumes after them. */
    t.integer('processed').notNullable().defaultTo(0);
    t.integer('created').notNullable().defaultTo(0);
    t.integer('updated').notNullable().defaultTo(0);
    t.integer('unchanged').notNullable().defaultTo(0);
    t.integer('error_count').notNullable().defaultTo(0);
    t.text('error');
    t.uuid('created_by_admin_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.index(['tenant_id', 'created_at']);
  });

  await knex.schema.createTable('user_import_errors', (t) => {
    t.uuid('import_id').notNullable().references('user_imports.id').onDelete('CASCADE');
    t.integer('line').notNullable();
    t.text('message').notNullable();
    t.primary(['import_id', 'line']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('user_import_errors');
  await knex.schema.dropTableIfExists('user_imports');
}
