import type { Knex } from 'knex';

/** Tenants, admins, resources, users and their assignments, API keys, audit, outbox, sessions. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pgcrypto');
  const trgm = await knex.raw(`SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'`);
  if (trgm.rows.length > 0) await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');

  await knex.schema.createTable('tenants', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('name').notNullable();
    t.timestamp('disabled_at', { useTz: true });
    t.timestamps(true, true);
  });

  await knex.schema.createTable('admins', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('email').notNullable();
    t.text('name');
    t.text('role').notNullable().checkIn(['owner', 'admin', 'auditor']);
    t.text('password_hash');
    t.text('totp_secret_sealed');
    t.bigInteger('totp_last_step').notNullable().defaultTo(0);
    t.text('invite_token_hash').unique();
    t.timestamp('invite_expires_at', { useTz: true });
    t.timestamp('disabled_at', { useTz: true });
    t.timestamp('last_sign_in_at', { useTz: true });
    t.timestamps(true, true);
  });
  // An email identifies one admin across the service, so sign-in needs no tenant picker.
  await knex.raw('CREATE UNIQUE INDEX admins_email_unique ON admins (lower(email))');
  await knex.raw('CREATE INDEX admins_tenant_idx ON admins (tenant_id)');

  await knex.schema.createTable('resources', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('description').notNullable().defaultTo('');
    t.integer('failed_attempts_limit').notNullable().defaultTo(5);
    t.integer('lock_minutes').notNullable().defaultTo(5);
    t.text('pin_position').notNullable().defaultTo('before').checkIn(['before', 'after']);
    t.integer('max_tokens_per_user').notNullable().defaultTo(1);
    t.boolean('require_second_factor').notNullable().defaultTo(false);
    t.integer('totp_window').notNullable().defaultTo(1);
    t.timestamp('disabled_at', { useTz: true });
    t.timestamps(true, true);
  });
  await knex.raw('CREATE UNIQUE INDEX resources_tenant_name_unique ON resources (tenant_id, lower(name))');
  await knex.raw('ALTER TABLE resources ADD CONSTRAINT resources_limits CHECK (failed_attempts_limit BETWEEN 3 AND 10 AND lock_minutes >= 0 AND max_tokens_per_user >= 1 AND totp_window BETWEEN 0 AND 10)');

  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('login').notNullable();
    t.text('email');
    t.text('phone');
    t.text('first_name');
    t.text('last_name');
    t.text('password_hash');
    t.timestamp('blocked_at', { useTz: true });
    t.timestamps(true, true);
  });
  await knex.raw('CREATE UNIQUE INDEX users_tenant_login_unique ON users (tenant_id, lower(login))');
  await knex.raw('CREATE INDEX users_tenant_email_idx ON users (tenant_id, lower(email))');
  if (trgm.rows.length > 0) {
    await knex.raw(`CREATE INDEX users_search_trgm ON users USING gin ((lower(login || ' ' || coalesce(email, '') || ' ' || coalesce(first_name, '') || ' ' || coalesce(last_name, ''))) gin_trgm_ops)`);
  }

  await knex.schema.createTable('resource_users', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('resource_id').notNullable().references('resources.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.integer('fail_count').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['resource_id', 'user_id']);
    t.index(['user_id']);
  });

  await knex.schema.createTable('api_keys', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('prefix').notNullable();
    t.text('key_hash').notNullable().unique();
    t.uuid('created_by_admin_id').references('admins.id').onDelete('SET NULL');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.index(['tenant_id']);
  });

  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id');
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('actor_type').notNullable().checkIn(['admin', 'user', 'api_key', 'system']);
    t.uuid('actor_id');
    t.text('actor_label');
    t.text('action').notNullable();
    t.text('target_type');
    t.text('target_id');
    t.uuid('resource_id');
    t.text('result').notNullable().defaultTo('success');
    t.text('ip');
    t.text('user_agent');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('fanned_out_at', { useTz: true });
  });
  await knex.raw('CREATE INDEX audit_events_tenant_time_idx ON audit_events (tenant_id, id DESC)');

  await knex.schema.createTable('messages', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').references('tenants.id').onDelete('CASCADE');
    t.text('channel').notNullable().defaultTo('email').checkIn(['email', 'sms']);
    t.text('recipient').notNullable();
    t.text('subject').notNullable().defaultTo('');
    t.text('body_text');
    t.text('status').notNullable().defaultTo('queued').checkIn(['queued', 'sent', 'captured', 'failed']);
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('delivered_at', { useTz: true });
  });
  await knex.raw('CREATE INDEX messages_tenant_time_idx ON messages (tenant_id, created_at DESC)');
  await knex.raw(`CREATE INDEX messages_queued_idx ON messages (created_at) WHERE status = 'queued'`);

  await knex.schema.createTable('sessions', (t) => {
    t.text('sid').primary();
    t.jsonb('data').notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable().index();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['sessions', 'messages', 'audit_events', 'api_keys', 'resource_users', 'users', 'resources', 'admins', 'tenants']) {
    await knex.schema.dropTableIfExists(table);
  }
}
