/** Read side of the audit log for the console. */
import type { Db } from '../db/knex';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { listAudit, type AuditEventRow } from './audit.repository';

export type AuditService = ReturnType<typeof createAuditService>;

export function createAuditService(db: Db) {
  return {
    async list(tenantId: string, page: PageRequest): Promise<Page<AuditEventRow>> {
      const { items, total } = await listAudit(db, tenantId, page);
      return toPage(items, total, page);
    },
  };
}
