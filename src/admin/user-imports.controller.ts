/** Console: import users from a CSV upload, the import's self-updating progress page, and its report as CSV. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Services } from '../services';
import { ValidationError } from '../lib/errors';
import { csvUpload, type CsvUpload } from '../web/csv-upload';
import { flash, redirect, render } from '../web/views';
import { formBoolean } from './form';
import { REPORT_PAGE_LIMIT } from '../users/import/user-import.service';
import { csvCell } from '../lib/csv-cell';

/**
 * The multipart parser for the upload route only, mounted by app.ts before the CSRF check (which
 * reads `_csrf` from the parsed form). Only a signed-in session gets its upload parsed: anyone
 * else is refused by the CSRF check and the admin guard without the server buffering a file.
 */
export function userImportUpload(): RequestHandler {
  const upload = csvUpload({ allowRaw: false });
  return (req: Request, res: Response, next: NextFunction) => (req.session?.adminId ? upload(req, res, next) : next());
}

const FORM = { page: 'admin/users/import', partial: 'admin/users/_import-form' };
const STATUS = { page: 'admin/users/import-status', partial: 'admin/users/_import-status' };

export function createUserImportsController({ userImports }: Services) {
  return {
    async form(req: Request, res: Response) {
      const recent = await userImports.listRecent(req.actor!);
      render(req, res, FORM, { recent, values: { updateExisting: false }, errors: {} });
    },

    async create(req: Request, res: Response) {
      const upload = res.locals.upload as CsvUpload | undefined;
      const values = { updateExisting: formBoolean((req.body ?? {}).updateExisting) };
      try {
        const started = await userImports.startImport(req.actor!, { filename: upload?.filename ?? '', content: upload?.content ?? Buffer.alloc(0), updateExisting: values.updateExisting });
        flash(req, 'success', `"${started.filename || 'The file'}" was accepted: ${started.total.toLocaleString('en')} rows are being imported.`);
        redirect(req, res, `/admin/users/imports/${started.id}`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        const recent = await userImports.listRecent(req.actor!);
        render(req, res, FORM, { recent, values, errors: err.fields, error: err.message }, 422);
      }
    },

    async show(req: Request, res: Response) {
      const userImport = await userImports.get(req.actor!, req.params.id as string);
      const finished = userImport.status === 'done' || userImport.status === 'failed';
      // The report appears once the import ends; the first lines on the page, all of them in the CSV.
      const errors = finished ? await userImports.errors(req.actor!, userImport.id, REPORT_PAGE_LIMIT) : [];
      render(req, res, STATUS, { userImport, errors, reportLimit: REPORT_PAGE_LIMIT });
    },

    async report(req: Request, res: Response) {
      const userImport = await userImports.get(req.actor!, req.params.id as string);
      const errors = await userImports.errors(req.actor!, userImport.id);
      const lines = ['line,message', ...errors.map((e) => `${e.line},${csvCell(e.message)}`)];
      const name = (userImport.filename || 'users.csv').replace(/\.csv$/i, '').replace(/[^\w.-]+/g, '_');
      res.set('Content-Disposition', `attachment; filename="${name}-report.csv"`).set('Cache-Control', 'no-store').type('text/csv; charset=utf-8').send(`\uFEFF${lines.join('\r\n')}\r\n`);
    },
  };
}
