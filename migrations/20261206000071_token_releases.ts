import type { Knex } from 'knex';

/**
 * Tokens a user removed from a resource in its portal (issue 15 §4): the unassign page says the
 * token stays theirs, so Assign Existing offers it there again even when it is in no other
 * resource. Only the owner's own removal counts; an administrator's unassignment does not.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('token_releases', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('token_id').notNullable().references('tokens.id').onDelete('CASCADE');
    t.uuid('resource_id').notNullable().references('resources.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.timestamp('released_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['token_id', 'resource_id']);
    t.index(['tenant_id', 'resource_id', 'user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('token_releases');
}
