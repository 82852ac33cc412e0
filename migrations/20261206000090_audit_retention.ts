import type { Knex } from 'knex';

/**
 * Audit retention per tenant (issue 14): events older than this many days are deleted in batches
 * by the `audit.retention` job (src/audit/audit-retention.service.ts). 400 days by default: a
 * year of history plus a margin for yearly reviews. The purge walks the existing
 * (tenant_id, created_at, id) index (migration 20261206000050), so it needs no index of its own.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tenants', (t) => {
    t.integer('audit_retention_days').notNullable().defaultTo(400);
  });
  await knex.raw('ALTER TABLE tenants ADD CONSTRAINT tenants_audit_retention_days_check CHECK (audit_retention_days BETWEEN 30 AND 3650)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('tenants', (t) => {
    t.dropColumn('audit_retention_days');
  });
}
