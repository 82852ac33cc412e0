import type { Knex } from 'knex';

/**
 * Enrolment invitations (issue 12 §3, §4): one row per user and resource, re-used when the user is
 * invited again (a resend moves `last_sent_at` and `expires_at`). Whether the user has enrolled is
 * not stored here: it is derived from their active tokens in the resource, so it can never
 * disagree with what sign-in sees. `next_reminder_at` drives the reminder sweep; a cancelled or
 * expired invitation gets none.
 *
 * Per resource: how long an invitation is valid, and after how many days reminders go out to
 * those still not enrolled (an empty list turns reminders off).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('enrollment_invitations', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('resource_id').notNullable().references('resources.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_sent_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.integer('reminders_sent').notNullable().defaultTo(0);
    t.timestamp('next_reminder_at', { useTz: true });
    t.timestamp('cancelled_at', { useTz: true });
    t.unique(['resource_id', 'user_id']);
    t.index(['tenant_id', 'resource_id', 'expires_at']);
  });
  await knex.raw('CREATE INDEX enrollment_invitations_reminders_idx ON enrollment_invitations (next_reminder_at) WHERE next_reminder_at IS NOT NULL AND cancelled_at IS NULL');
  await knex.schema.alterTable('resources', (t) => {
    t.integer('invitation_days').notNullable().defaultTo(30);
    t.specificType('invitation_reminder_days', 'integer[]').notNullable().defaultTo(knex.raw("'{2,10}'"));
  });
  await knex.raw('ALTER TABLE resources ADD CONSTRAINT resources_invitation_days CHECK (invitation_days BETWEEN 1 AND 365)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE resources DROP CONSTRAINT IF EXISTS resources_invitation_days');
  await knex.schema.alterTable('resources', (t) => {
    t.dropColumn('invitation_reminder_days');
    t.dropColumn('invitation_days');
  });
  await knex.schema.dropTable('enrollment_invitations');
}
