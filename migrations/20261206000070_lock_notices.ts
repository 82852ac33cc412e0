import type { Knex } from 'knex';

/**
 * Lock emails (issue 15 §1): the lock a user was last told about, per resource. A lock is
 * identified by its `locked_until`; the notice is sent when this differs from it, and set in the
 * same statement, so each lock sends one email however many attempts hit it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('resource_users', (t) => {
    t.timestamp('lock_notified_until', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('resource_users', (t) => {
    t.dropColumn('lock_notified_until');
  });
}
