import type { Knex } from 'knex';

/**
 * Portal sign-in (SPEC §5.2): emailed sign-in codes for users without a password, and the
 * fixed-window rate-limit counters every web process shares (SEC-07, SEC-25).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('portal_sign_in_codes', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('resource_id').notNullable().references('resources.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    /** HMAC of `<id>:<code>` with a key outside the database (see challenge-codes.ts). */
    t.text('code_hash').notNullable();
    /** SHA-256 of a random value kept in the session of the sign-in that asked for the code (SEC-10). */
    t.text('binding_hash').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'resource_id', 'user_id', 'created_at']);
  });
  await knex.schema.createTable('rate_limits', (t) => {
    t.text('key').primary();
    t.timestamp('window_started_at', { useTz: true }).notNullable();
    t.integer('hits').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limits');
  await knex.schema.dropTable('portal_sign_in_codes');
}
