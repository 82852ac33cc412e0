/**
 * Reads an uploaded user CSV, for the one route of each surface that takes one: either the raw
 * body (`Content-Type: text/csv`) or the `file` field of a multipart form. The file lands in
 * `res.locals.upload` as bytes (never in `req.body`, so the input guard does not walk 20 MB of
 * text as one string: the rows are checked one field at a time by the import instead). Bounded
 * by USER_IMPORT_MAX_BYTES; a larger file answers 413 naming the limit.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { USER_IMPORT_MAX_BYTES } from '../users/import/user-file';

export interface CsvUpload {
  content: Buffer;
  filename: string;
}

const LIMIT_TEXT = `${USER_IMPORT_MAX_BYTES / 1024 / 1024} MB`;
const TOO_LARGE = `The file is larger than the limit of ${LIMIT_TEXT}. Split it into smaller files.`;

function clientError(status: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { status, code });
}

const raw = express.raw({ type: ['text/csv', 'application/csv', 'text/plain'], limit: USER_IMPORT_MAX_BYTES });
const multipart = multer({ storage: multer.memoryStorage(), limits: { fileSize: USER_IMPORT_MAX_BYTES, files: 1, fields: 10, fieldSize: 10_000, parts: 12 } }).single('file');

/** Accepts `text/csv` (when allowRaw) or multipart; anything else answers 415 saying what to send. */
export function csvUpload(options: { allowRaw: boolean }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const done = (err: unknown) => {
      if (err) {
        const e = err as { type?: string; code?: string };
        if (e.type === 'entity.too.large' || e.code === 'LIMIT_FILE_SIZE') return next(clientError(413, 'too_large', TOO_LARGE));
        if (err instanceof multer.MulterError) return next(clientError(400, 'upload_refused', e.code === 'LIMIT_UNEXPECTED_FILE' ? 'Send one file, in the field named "file".' : 'The upload could not be read. Try again.'));
        return next(err);
      }
      if (Buffer.isBuffer(req.body)) {
        res.locals.upload = { content: req.body, filename: '' } satisfies CsvUpload;
        req.body = {};
      } else if (req.file) {
        res.locals.upload = { content: req.file.buffer, filename: req.file.originalname } satisfies CsvUpload;
      }
      next();
    };
    if (options.allowRaw && req.is(['text/csv', 'application/csv', 'text/plain'])) return raw(req, res, done);
    if (req.is('multipart/form-data')) return multipart(req, res, done);
    const accepted = options.allowRaw ? 'the CSV as the body with "Content-Type: text/csv", or as the "file" field of a multipart/form-data form' : 'a multipart/form-data form with the file in the "file" field';
    next(clientError(415, 'unsupported_media_type', `Send ${accepted}.`));
  };
}
