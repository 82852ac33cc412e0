import type { Knex } from 'knex';

/**
 * WebAuthn credentials (SPEC §2 `webauthn`, SEC-26): one row per `webauthn` token, keyed by the
 * token id. A credential id belongs to exactly one token (unique over the whole table); the sign
 * counter only moves forward (compare-and-set in webauthn.repository.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('token_webauthn_credentials', (t) => {
    t.uuid('token_id').primary().references('tokens.id').onDelete('CASCADE');
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    /** base64url, as the browser reports it. */
    t.text('credential_id').notNullable().unique();
    /** COSE public key. */
    t.binary('public_key').notNullable();
    t.bigInteger('sign_count').notNullable().defaultTo(0);
    t.specificType('transports', 'text[]').notNullable().defaultTo('{}');
    t.text('aaguid');
    t.text('device_type');
    t.boolean('backed_up').notNullable().defaultTo(false);
    /** The RP ID (host) it was registered for: a key registered at one portal host works there only. */
    t.text('rp_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('token_webauthn_credentials');
}
