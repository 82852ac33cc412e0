import type { Knex } from 'knex';

/**
 * Portal enrolments in progress (SPEC §5.3 Enroll Token): a token a user started to enroll in a
 * resource's portal, created disabled and assigned, and not yet proven. The row marks it as
 * pending, so an abandoned one can be told apart from a token an admin disabled and removed
 * (it must not hold a place under the resource's max tokens per user). Proving the token
 * deletes the row; deleting the token deletes it too.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('portal_enrollments', (t) => {
    t.uuid('token_id').primary().references('tokens.id').onDelete('CASCADE');
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('resource_id').notNullable().references('resources.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('type').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'resource_id', 'user_id']);
    t.index(['resource_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('portal_enrollments');
}
