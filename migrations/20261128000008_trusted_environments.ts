import type { Knex } from 'knex';

/**
 * Trusted environments (SPEC §2, §5.3 Manage User Environment, §5.4 intelligent identification):
 * the browsers a user signed in from at a resource's portal, known by the SHA-256 of a random
 * device id kept in a signed cookie (the id itself is never stored). `trusted_at` is set when
 * the user marks the browser as trusted; only then may it skip the second factor, and only when
 * the resource allows it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_environments', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('resource_id').notNullable().references('resources.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('device_hash').notNullable();
    t.text('label');
    t.text('user_agent_summary').notNullable().defaultTo('Unknown browser');
    t.text('first_ip');
    t.text('last_ip');
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('trusted_at', { useTz: true });
    t.unique(['resource_id', 'user_id', 'device_hash']);
    t.index(['tenant_id', 'user_id']);
  });
  await knex.schema.alterTable('resources', (t) => {
    t.boolean('trusted_environment_skips_second_factor').notNullable().defaultTo(false);
    t.boolean('notify_new_environment').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('resources', (t) => {
    t.dropColumn('notify_new_environment');
    t.dropColumn('trusted_environment_skips_second_factor');
  });
  await knex.schema.dropTable('user_environments');
}
