/** Console: import hardware tokens (CSV or PSKC upload), and the import's self-updating progress page. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import type { Services } from '../services';
import { ValidationError } from '../lib/errors';
import { flash, redirect, render } from '../web/views';
import { formText } from './form';
import { uploadError } from '../web/upload-errors';
import { IMPORT_MAX_BYTES } from '../tokens/import/import.types';

export { IMPORT_MAX_BYTES };

/**
 * The multipart parser for the upload route only. app.ts mounts it before the CSRF check, which
 * reads `_csrf` from the parsed body, so the form also works without JavaScript. Only a signed-in
 * session gets its upload parsed (kept in memory, bounded): anyone else is refused by the CSRF
 * check and the admin guard without the server buffering their file.
 */
export function tokenImportUpload(): RequestHandler {
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: IMPORT_MAX_BYTES, files: 1, fields: 10, fieldSize: 10_000, parts: 12 } }).single('file');
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.session?.adminId) return next();
    upload(req, res, (err: unknown) => next(err ? uploadError(err) : undefined));
  };
}

const FORM = { page: 'admin/tokens/import', partial: 'admin/tokens/_import-form' };
const STATUS = { page: 'admin/tokens/import-status', partial: 'admin/tokens/_import-status' };

export function createTokenImportsController({ tokenImports }: Services) {
  return {
    async form(req: Request, res: Response) {
      const recent = await tokenImports.listRecent(req.actor!);
      render(req, res, FORM, { recent, values: { format: 'auto' }, errors: {} });
    },

    async create(req: Request, res: Response) {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const values = { format: formText(body.format) ?? 'auto' };
      try {
        const started = await tokenImports.startImport(req.actor!, {
          format: values.format,
          filename: req.file?.originalname ?? '',
          content: req.file?.buffer ?? Buffer.alloc(0),
          password: formText(body.password),
          preSharedKey: formText(body.preSharedKey),
        });
        flash(req, 'success', `"${started.filename || 'The file'}" was checked: ${started.total.toLocaleString('en')} tokens are being imported.`);
        redirect(req, res, `/admin/tokens/imports/${started.id}`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        // The password and pre-shared key fields are never echoed back; the file has to be chosen again anyway.
        const recent = await tokenImports.listRecent(req.actor!);
        render(req, res, FORM, { recent, values, errors: err.fields, error: err.message }, 422);
      }
    },

    async show(req: Request, res: Response) {
      const tokenImport = await tokenImports.get(req.actor!, req.params.id as string);
      render(req, res, STATUS, { tokenImport });
    },
  };
}
