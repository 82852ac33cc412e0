import type { Knex } from 'knex';

/**
 * Admins limited to selected resources (SPEC §2, issue 12 §5). The flag, not "has rows", says an
 * admin is limited: deleting a limited admin's last resource must leave them limited to nothing,
 * never widen them to everything. The join rows cascade with the admin and the resource.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('admins', (t) => {
    t.boolean('limited_to_resources').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('admin_resources', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('admin_id').notNullable().references('admins.id').onDelete('CASCADE');
    t.uuid('resource_id').notNullable().references('resources.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['admin_id', 'resource_id']);
    t.index(['resource_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('admin_resources');
  await knex.schema.alterTable('admins', (t) => {
    t.dropColumn('limited_to_resources');
  });
}
