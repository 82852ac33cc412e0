/** API: start a user CSV import (text/csv body or multipart `file`) and read its status and report. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { BadRequestError } from '../lib/errors';
import type { UserImport, RowError } from '../users/import/user-import.service';
import type { CsvUpload } from '../web/csv-upload';
import { param } from './input';

/** `updateExisting` from the query string (text/csv) or the form (multipart): true/false/1/0, absent = false. */
function updateExistingOf(req: Request): boolean {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const value = body.updateExisting ?? req.query.updateExisting;
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new BadRequestError('updateExisting must be true or false.');
}

export function serializeUserImport(i: UserImport, errors?: RowError[]) {
  return {
    id: i.id,
    status: i.status,
    filename: i.filename,
    updateExisting: i.updateExisting,
    total: i.total,
    processed: i.processed,
    created: i.created,
    updated: i.updated,
    unchanged: i.unchanged,
    ...(i.error ? { error: i.error } : {}),
    ...(errors ? { errors } : {}),
    createdAt: i.createdAt.toISOString(),
    finishedAt: i.finishedAt ? i.finishedAt.toISOString() : null,
  };
}

export function createApiUserImportsController({ userImports }: Services) {
  return {
    async create(req: Request, res: Response) {
      const upload = res.locals.upload as CsvUpload | undefined;
      const started = await userImports.startImport(req.actor!, { filename: upload?.filename ?? '', content: upload?.content ?? Buffer.alloc(0), updateExisting: updateExistingOf(req) });
      res.status(202).location(`${req.baseUrl}/user-imports/${started.id}`).json({ id: started.id, status: started.status });
    },

    async show(req: Request, res: Response) {
      const found = await userImports.get(req.actor!, param(req, 'id'));
      res.json(serializeUserImport(found, await userImports.errors(req.actor!, found.id)));
    },
  };
}
