import type { Knex } from 'knex';

/**
 * Pending email/phone changes from the portal (SPEC §5.3): the new address waits here, bound to
 * the user and the resource, until the 6-digit code sent to it is confirmed. Only the code's
 * HMAC is stored (see challenge-codes.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('portal_contact_changes', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('resource_id').notNullable().references('resources.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('kind').notNullable().checkIn(['email', 'phone']);
    t.text('new_value').notNullable();
    /** HMAC of `<id>:<code>` with a key outside the database. */
    t.text('code_hash').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'resource_id', 'user_id', 'kind', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('portal_contact_changes');
}
