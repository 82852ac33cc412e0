import type { Knex } from 'knex';

/**
 * Console sign-in lock (issue 11, SEC-07 style): wrong second-step codes are counted on the admin's
 * row, atomically, and at the limit the account is locked until `locked_until`. The state lives in
 * PostgreSQL so every web process sees the same count and a restart forgets nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('admins', (t) => {
    t.integer('second_step_failures').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('admins', (t) => {
    t.dropColumn('locked_until');
    t.dropColumn('second_step_failures');
  });
}
