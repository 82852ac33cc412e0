/** Console: the tenant's audit log, newest first. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { pageRequest } from '../lib/pagination';
import { render } from '../web/views';

export function createAuditController({ audit }: Services) {
  return {
    async list(req: Request, res: Response) {
      const page = await audit.list(req.actor!, pageRequest(req.query, 50));
      render(req, res, { page: 'admin/audit/index', partial: 'admin/audit/_table' }, { page });
    },
  };
}
