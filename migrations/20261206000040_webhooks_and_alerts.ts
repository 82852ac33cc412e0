import type { Knex } from 'knex';

/**
 * Tenant webhooks and admin alert emails (issue 13 §1, §2).
 * - webhook_endpoints: one receiver URL, its event filter and its signing secret (sealed), the
 *   previous secret while a rotation's 24 h overlap lasts, and since when every attempt failed.
 * - webhook_deliveries: one row per (endpoint, audit event): the delivery state the retries and the
 *   console read. The row id is the Standard Webhooks `webhook-id`, stable across retries.
 * - admin_alert_subscriptions: which alert kinds each admin opted into.
 * - alert_throttle: when an alert keyed by subject (user + resource for lockouts) was last sent.
 * - A partial index on audit_events not yet fanned out: the dispatcher polls it every second.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('url').notNullable();
    t.text('description');
    t.specificType('events', 'text[]').notNullable();
    t.text('secret_sealed').notNullable();
    t.text('previous_secret_sealed');
    t.timestamp('previous_secret_expires_at', { useTz: true });
    t.timestamp('failing_since', { useTz: true });
    t.timestamp('disabled_at', { useTz: true });
    t.text('disabled_reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id']);
  });

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('endpoint_id').notNullable().references('webhook_endpoints.id').onDelete('CASCADE');
    t.bigInteger('event_id').notNullable().references('audit_events.id').onDelete('CASCADE');
    t.text('event_type').notNullable();
    t.text('status').notNullable().defaultTo('pending').checkIn(['pending', 'delivered', 'retrying', 'failed']);
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('last_status_code');
    t.text('last_error');
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('last_attempt_at', { useTz: true });
    t.timestamp('delivered_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['endpoint_id', 'event_id']);
    t.index(['tenant_id', 'endpoint_id', 'created_at']);
  });
  await knex.raw("CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'retrying')");

  await knex.schema.createTable('admin_alert_subscriptions', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('admin_id').notNullable().references('admins.id').onDelete('CASCADE');
    t.text('kind').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['admin_id', 'kind']);
    t.index(['tenant_id', 'kind']);
  });

  await knex.schema.createTable('alert_throttle', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('key').notNullable();
    t.timestamp('sent_at', { useTz: true }).notNullable();
    t.primary(['tenant_id', 'key']);
  });

  // Events older than this feature have nowhere to go; without this the first dispatch would
  // walk the whole history (and alert about lockouts long over).
  await knex.raw('UPDATE audit_events SET fanned_out_at = now() WHERE fanned_out_at IS NULL');
  await knex.raw('CREATE INDEX audit_events_not_fanned_out_idx ON audit_events (id) WHERE fanned_out_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS audit_events_not_fanned_out_idx');
  for (const table of ['alert_throttle', 'admin_alert_subscriptions', 'webhook_deliveries', 'webhook_endpoints']) {
    await knex.schema.dropTableIfExists(table);
  }
}
