import type { Knex } from 'knex';

/** Per-resource Self-Service Portal configuration (SPEC §4): address, allowed actions, enrollable token types. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('resources', (t) => {
    /** A DNS label, unique across the whole service (not per tenant); NULL = portal deactivated. */
    t.text('self_service_address');
    t.specificType('allowed_actions', 'text[]').notNullable().defaultTo('{}');
    t.specificType('enrollment_token_types', 'text[]').notNullable().defaultTo('{}');
  });
  await knex.raw('CREATE UNIQUE INDEX resources_self_service_address_unique ON resources (self_service_address)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS resources_self_service_address_unique');
  await knex.schema.alterTable('resources', (t) => {
    t.dropColumn('enrollment_token_types');
    t.dropColumn('allowed_actions');
    t.dropColumn('self_service_address');
  });
}
