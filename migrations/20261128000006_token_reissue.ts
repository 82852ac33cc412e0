import type { Knex } from 'knex';

/**
 * Portal token reissue (SPEC §5.3): the new seed waits, sealed like `seed_sealed` (AES-256-GCM,
 * bound to the token id, its key id inside the ciphertext), until the user proves it with a code.
 * Until then the old seed keeps working; the confirmation swaps them in one statement.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tokens', (t) => {
    t.text('pending_seed_sealed');
    /** When the pending seed was made: it expires (see token-actions.service.ts). */
    t.timestamp('pending_seed_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tokens', (t) => {
    t.dropColumn('pending_seed_at');
    t.dropColumn('pending_seed_sealed');
  });
}
