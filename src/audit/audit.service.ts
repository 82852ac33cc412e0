/** Read side of the audit log for the console. */
import type { Db } from '../db/knex';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { listAudit, type AuditEventRow } from './audit.repository';
import type { Scope } from '../admins/resource-scope';

export type AuditService = ReturnType<typeof createAuditService>;

export function createAuditService(db: Db) {
  return {
    /** Newest first; a limited admin sees only events of their resources. */
    async list(scope: Scope, page: PageRequest): Promise<Page<AuditEventRow>> {
      const { items, total } = await listAudit(db, scope.tenantId, page, scope);
      return toPage(items, total, page);
    },
  };
}
