import type { Knex } from 'knex';

/**
 * One sealed sentinel per encryption key id, written the first time a process starts with that
 * key id: every later start opens it, so a wrong but well-formed key in ENCRYPTION_KEYS is
 * refused at start instead of answering 500 to every check (src/db/encryption-key-check.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('encryption_key_checks', (t) => {
    t.text('key_id').primary();
    t.text('sealed').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('encryption_key_checks');
}
