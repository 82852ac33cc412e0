import type { Knex } from 'knex';

/** Tokens (second factors), their resource assignments, backup codes, challenges and imports. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tokens', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('user_id').references('users.id').onDelete('SET NULL');
    t.text('type').notNullable().checkIn(['totp', 'hotp', 'hardware', 'email', 'sms', 'webauthn', 'backup_codes']);
    t.text('serial').notNullable();
    t.text('name').notNullable().defaultTo('');
    t.boolean('enabled').notNullable().defaultTo(true);
    // OATH parameters, for totp, hotp and hardware tokens.
    t.text('otp_kind').checkIn(['totp', 'hotp']);
    t.text('algorithm').checkIn(['SHA1', 'SHA256', 'SHA512']);
    t.integer('digits');
    t.integer('period');
    /** HOTP: the next expected counter. */
    t.bigInteger('hotp_counter').notNullable().defaultTo(0);
    /** TOTP: the last accepted time step (replay protection); null before first use. */
    t.bigInteger('totp_last_step');
    t.integer('drift').notNullable().defaultTo(0);
    /** AES-256-GCM ciphertext of the seed, bound to the token id; carries its key id. */
    t.text('seed_sealed');
    t.text('seed_key_id');
    t.text('pin_hash');
    t.integer('fail_count').notNullable().defaultTo(0);
    t.uuid('import_id');
    t.timestamp('last_used_at', { useTz: true });
    t.timestamps(true, true);
  });
  await knex.raw('CREATE UNIQUE INDEX tokens_tenant_serial_unique ON tokens (tenant_id, lower(serial))');
  await knex.raw('CREATE INDEX tokens_tenant_user_idx ON tokens (tenant_id, user_id)');
  await knex.raw('CREATE INDEX tokens_tenant_type_idx ON tokens (tenant_id, type, created_at DESC)');
  await knex.raw('CREATE INDEX tokens_seed_key_idx ON tokens (seed_key_id)');
  await knex.raw(`ALTER TABLE tokens ADD CONSTRAINT tokens_oath CHECK (
    otp_kind IS NULL OR (algorithm IS NOT NULL AND digits IN (6, 8) AND (otp_kind = 'hotp' OR period IN (30, 60))))`);

  await knex.schema.createTable('token_resources', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('token_id').notNullable().references('tokens.id').onDelete('CASCADE');
    t.uuid('resource_id').notNullable().references('resources.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['token_id', 'resource_id']);
    t.index(['resource_id']);
  });

  await knex.schema.createTable('token_backup_codes', (t) => {
    t.bigIncrements('id');
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('token_id').notNullable().references('tokens.id').onDelete('CASCADE');
    t.text('code_hash').notNullable();
    t.timestamp('used_at', { useTz: true });
    t.index(['token_id']);
  });

  await knex.schema.createTable('token_challenges', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('token_id').notNullable().references('tokens.id').onDelete('CASCADE');
    t.uuid('resource_id').references('resources.id').onDelete('CASCADE');
    t.text('code_hash').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['token_id', 'created_at']);
  });

  await knex.schema.createTable('token_imports', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('format').notNullable().checkIn(['csv', 'pskc']);
    t.text('filename').notNullable().defaultTo('');
    t.text('status').notNullable().defaultTo('queued').checkIn(['queued', 'running', 'done', 'failed']);
    /** The uploaded file, sealed (it holds seeds); dropped once processed. */
    t.text('file_sealed');
    t.integer('total').notNullable().defaultTo(0);
    t.integer('processed').notNullable().defaultTo(0);
    t.text('error');
    t.uuid('created_by_admin_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.index(['tenant_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['token_imports', 'token_challenges', 'token_backup_codes', 'token_resources', 'tokens']) {
    await knex.schema.dropTableIfExists(table);
  }
}
