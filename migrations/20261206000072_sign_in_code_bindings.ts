import type { Knex } from 'knex';

/**
 * A portal sign-in code may serve more than the sign-in that asked for it (issue 15 §2): a new
 * sign-in of the same user and resource started while the code is open (within the resend
 * interval, when no new code is sent) adds its binding here. Attempts stay counted on the code.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE portal_sign_in_codes ADD COLUMN extra_binding_hashes text[] NOT NULL DEFAULT '{}'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('portal_sign_in_codes', (t) => {
    t.dropColumn('extra_binding_hashes');
  });
}
