/** API: the tenant's audit log, filtered and keyset-paged, as JSON or as a streamed CSV. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { parseAuditQuery } from '../audit/audit-filter';
import { CSV_HEADER, csvCells } from '../audit/audit-rows';
import type { AuditEventView } from '../audit/audit-query.repository';
import { actionWords } from '../audit/audit-words';
import { streamCsv } from '../web/csv-stream';
import { ValidationError } from '../lib/errors';

export function serializeAuditEvent(e: AuditEventView) {
  return {
    id: String(e.id),
    createdAt: new Date(e.created_at).toISOString(),
    actor: { type: e.actor_type, id: e.actor_id, name: e.actor_name },
    action: e.action,
    actionText: actionWords(e.action),
    target: e.target_type ? { type: e.target_type, id: e.target_id, name: e.target_name } : null,
    resource: e.resource_id ? { id: e.resource_id, name: e.resource_name } : null,
    result: e.result,
    ip: e.ip,
    userAgent: e.user_agent,
    details: e.details ?? {},
  };
}

export function createApiAuditEventsController({ audit }: Services) {
  return {
    /** `{items, nextCursor, prevCursor}`; unknown or malformed parameters answer 422 naming them. */
    async list(req: Request, res: Response) {
      const { filter, page } = parseAuditQuery(req.query, { strict: true });
      const result = await audit.list(req.actor!, filter, page);
      res.json({
        items: result.items.map(serializeAuditEvent),
        nextCursor: result.nextCursor === null ? null : String(result.nextCursor),
        prevCursor: result.prevCursor === null ? null : String(result.prevCursor),
      });
    },

    /** Every event of the filters (no paging), newest first, streamed in batches. */
    async exportCsv(req: Request, res: Response) {
      const { filter } = parseAuditQuery(req.query, { strict: true });
      const paging = (['before', 'after', 'limit'] as const).find((name) => req.query[name] !== undefined);
      if (paging) throw new ValidationError({ [paging]: 'The export has every event of the filters: leave out before, after and limit.' });
      await streamCsv(res, `audit-log-${new Date().toISOString().slice(0, 10)}.csv`, CSV_HEADER, audit.export(req.actor!, filter), csvCells);
    },
  };
}
