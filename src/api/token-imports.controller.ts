/**
 * API: hardware token imports (CSV or PSKC). Thin: the body is read by token-import-body.ts, and
 * the console's import service checks the whole file while the client waits (a bad file is a 422
 * naming the line, nothing written), then the `tokens.import` job creates the tokens.
 */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { param } from './input';
import { tokenImportInput } from './token-import-body';
import { serializeTokenImport } from './token-import-serializers';

export function createApiTokenImportsController({ tokenImports }: Services) {
  return {
    /** 202 {id, status}: accepted and queued; poll the Location for progress and the result. */
    async create(req: Request, res: Response) {
      const started = await tokenImports.startImport(req.actor!, tokenImportInput(req));
      res.status(202).location(`${req.baseUrl}/token-imports/${started.id}`).json({ id: started.id, status: started.status });
    },

    async show(req: Request, res: Response) {
      res.json(serializeTokenImport(await tokenImports.get(req.actor!, param(req, 'id'))));
    },
  };
}
