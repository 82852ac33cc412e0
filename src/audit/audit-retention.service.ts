/**
 * Audit retention (issue 14): each tenant keeps its events for `audit_retention_days` (400 by
 * default); older ones are deleted by the hourly `audit.retention` job in batches, so the table
 * stays at the size its tenants chose and no statement holds locks or WAL for long.
 */
import type { Db } from '../db/knex';
import { isUuid } from '../db/errors';
import { ForbiddenError, NotFoundError, ValidationError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import type { JobQueue } from '../jobs/queue';
import { recordAudit } from './audit.repository';
import { systemActor, type Actor } from './actor';
import * as repo from './audit-retention.repository';

/** Rows per DELETE: big enough that a million expired rows take a few hundred statements, small enough to stay brief (docs/performance.md). */
export const PURGE_BATCH_SIZE = 5_000;
const TENANT_PAGE = 500;

export type AuditRetentionService = ReturnType<typeof createAuditRetentionService>;

/** The job id of an hour: every process's sweep enqueues the same id, so the hour's purge runs once. */
export function retentionJobId(now: Date): string {
  return `audit-retention-${now.toISOString().slice(0, 13).replace('T', '-')}`;
}

export function createAuditRetentionService(db: Db, queue: JobQueue, log: Logger) {
  let lastEnqueued: string | undefined;

  /** Deletes the tenant's expired events batch by batch; each batch and its `audit.purged` event commit together. */
  async function purgeTenant(tenantId: string, days: number, batchSize = PURGE_BATCH_SIZE): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await db.transaction(async (trx) => {
        const n = await repo.deleteExpiredBatch(trx, tenantId, days, batchSize);
        if (n > 0) await recordAudit(trx, systemActor(tenantId, 'audit retention'), { action: 'audit.purged', targetType: 'tenant', targetId: tenantId, details: { deleted: n, olderThanDays: days } });
        return n;
      });
      total += deleted;
      if (deleted < batchSize) return total;
    }
  }

  return {
    /** The tenant's retention in days. Throws NotFoundError for an unknown tenant. */
    async retentionDays(tenantId: string): Promise<number> {
      const days = isUuid(tenantId) ? await repo.findRetentionDays(db, tenantId) : undefined;
      if (days === undefined) throw new NotFoundError('Tenant');
      return days;
    },

    /**
     * Sets the actor's tenant's retention, audited as `audit.retention.changed` in the same
     * transaction. Owners and the operator (the CLI's system actor) only: a shorter retention
     * erases history, so neither other admins nor API keys may (a stolen key must not cover its
     * tracks). Idempotent.
     */
    async setRetentionDays(actor: Actor, input: unknown): Promise<{ days: number; changed: boolean }> {
      const allowed = actor.type === 'system' || (actor.type === 'admin' && actor.role === 'owner');
      if (!allowed) throw new ForbiddenError('Only owners can change how long the audit log is kept.');
      const days = typeof input === 'string' && /^\d+$/.test(input.trim()) ? Number(input) : input;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < repo.MIN_AUDIT_RETENTION_DAYS || days > repo.MAX_AUDIT_RETENTION_DAYS) {
        throw new ValidationError({ days: `Enter a whole number of days from ${repo.MIN_AUDIT_RETENTION_DAYS} to ${repo.MAX_AUDIT_RETENTION_DAYS}.` });
      }
      if (!isUuid(actor.tenantId)) throw new NotFoundError('Tenant');
      return db.transaction(async (trx) => {
        const before = await repo.findRetentionDays(trx, actor.tenantId);
        if (before === undefined) throw new NotFoundError('Tenant');
        if (before === days) return { days, changed: false };
        await repo.updateRetentionDays(trx, actor.tenantId, days);
        await recordAudit(trx, actor, { action: 'audit.retention.changed', targetType: 'tenant', targetId: actor.tenantId, details: { from: before, to: days } });
        return { days, changed: true };
      });
    },

    purgeTenant,

    /** The job's work: every tenant's expired events, tenant by tenant. Safe to run twice (a second run finds nothing). */
    async purgeAll(batchSize = PURGE_BATCH_SIZE): Promise<number> {
      const started = Date.now();
      let total = 0;
      let after: string | undefined;
      for (;;) {
        const tenants = await repo.tenantsAfter(db, after, TENANT_PAGE);
        for (const t of tenants) total += await purgeTenant(t.id, t.days, batchSize);
        if (tenants.length < TENANT_PAGE) break;
        after = tenants[tenants.length - 1].id;
      }
      if (total > 0) log.info({ deleted: total, ms: Date.now() - started }, 'expired audit events deleted');
      return total;
    },

    /** Part of the periodic sweeps: enqueues this hour's purge once per process (the job id dedupes across processes). */
    async sweep(now = new Date()): Promise<number> {
      const jobId = retentionJobId(now);
      if (jobId === lastEnqueued) return 0;
      await queue.enqueue('purgeAudit', {}, { jobId });
      lastEnqueued = jobId;
      return 1;
    },
  };
}
