/**
 * audit queue, job `audit.retention`: deletes every tenant's audit events older than its
 * retention, in batches (src/audit/audit-retention.service.ts). Enqueued hourly by the sweeps;
 * running it twice is harmless, the second run finds nothing expired.
 */
import type { AuditRetentionService } from '../../audit/audit-retention.service';
import type { Processor } from '../queue';

export function createPurgeAuditProcessor(retention: Pick<AuditRetentionService, 'purgeAll'>): Processor<'purgeAudit'> {
  return async () => {
    await retention.purgeAll();
  };
}
