import type { Knex } from 'knex';

/**
 * Enrolment invitations (issue 12 §3): the email a row still owes ('invitation' or 'reminder').
 * Set in the transaction that invites, resends or schedules a reminder; the `invitations.send` job
 * clears it in the transaction that prepares the message. So a second delivery of the job finds
 * nothing to send, and a sweep can re-enqueue rows whose job was lost.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('enrollment_invitations', (t) => {
    t.text('pending_email');
  });
  await knex.raw("ALTER TABLE enrollment_invitations ADD CONSTRAINT enrollment_invitations_pending_email CHECK (pending_email IN ('invitation', 'reminder'))");
  await knex.raw('CREATE INDEX enrollment_invitations_pending_idx ON enrollment_invitations (last_sent_at) WHERE pending_email IS NOT NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('enrollment_invitations', (t) => {
    t.dropColumn('pending_email');
  });
}
