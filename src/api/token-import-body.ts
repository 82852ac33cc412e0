/**
 * Reads the body of `POST /api/v1/token-imports` into what the token import service takes: a raw
 * `text/csv` or PSKC XML body with the password or pre-shared key in a header, or a multipart form
 * with the file and those as fields. Bounded by the console's limit (IMPORT_MAX_BYTES); every
 * refusal is a typed 4xx naming what to send. The file itself is checked by the parsers (any bad
 * byte refuses it, naming the line), the few text fields by the same guard as JSON bodies.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../lib/errors';
import { IMPORT_MAX_BYTES } from '../tokens/import/import.types';
import type { StartImportInput } from '../tokens/import/import.service';
import { findInputProblem } from '../web/input-guard';

/** Raw body types and the format each one declares (the content type wins over detection). */
export const RAW_IMPORT_TYPES: Record<string, 'csv' | 'pskc'> = {
  'text/csv': 'csv',
  'application/pskc+xml': 'pskc',
  'application/xml': 'pskc',
  'text/xml': 'pskc',
};
export const PASSWORD_HEADER = 'X-PSKC-Password';
export const KEY_HEADER = 'X-PSKC-Key';

const LIMIT_TEXT = `${IMPORT_MAX_BYTES / 1024 / 1024} MB`;
const tooLarge = () => new PayloadTooLargeError(`The file is larger than ${LIMIT_TEXT} (${IMPORT_MAX_BYTES} bytes). Split it into smaller files.`);
const ACCEPTED = `Send the file as text/csv, application/pskc+xml or application/xml, or as multipart/form-data with the file in the field "file".`;

function mediaType(req: Request): string {
  return (req.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

/** Body-parser and multer failures as typed errors: over the limit is a 413 naming it, the rest a 400. */
function rawError(err: unknown): Error {
  const e = err as { status?: number; type?: string; message?: string };
  if (e.type === 'entity.too.large' || e.status === 413) return tooLarge();
  if (e.status && e.status >= 400 && e.status < 500) return err as Error; // e.g. an unsupported Content-Encoding (415)
  return new BadRequestError('The request body could not be read. Send it again.');
}

function multipartError(err: unknown): Error {
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return tooLarge();
    if (err.code === 'LIMIT_UNEXPECTED_FILE') return new BadRequestError('Send one file, in the field named "file".');
    return new BadRequestError(`The form has too many or too large parts (${err.message}). Send the file in "file" and at most "format", "password" and "preSharedKey".`);
  }
  // Busboy's errors (no boundary, a truncated body) are the client's malformed form, never ours.
  return new BadRequestError('The multipart body could not be read: check the boundary and that the form is complete.');
}

/** Middleware for the route: parses the body by its content type, or refuses the type with 415. */
export function readTokenImportBody(): RequestHandler {
  const raw = express.raw({ type: () => true, limit: IMPORT_MAX_BYTES });
  const multipart = multer({ storage: multer.memoryStorage(), limits: { fileSize: IMPORT_MAX_BYTES, files: 1, fields: 10, fieldSize: 10_000, parts: 12 } }).single('file');
  return (req: Request, res: Response, next: NextFunction) => {
    const type = mediaType(req);
    if (type === 'multipart/form-data') return multipart(req, res, (err: unknown) => next(err ? multipartError(err) : undefined));
    if (type in RAW_IMPORT_TYPES) return raw(req, res, (err: unknown) => next(err ? rawError(err) : undefined));
    next(new UnsupportedMediaTypeError(type ? `The content type "${type.slice(0, 100)}" is not accepted. ${ACCEPTED}` : `The request has no content type. ${ACCEPTED}`));
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** After readTokenImportBody: the service's input. A missing or empty file, or a bad field, is a 400. */
export function tokenImportInput(req: Request): StartImportInput {
  const type = mediaType(req);
  const multipart = type === 'multipart/form-data';
  const fields = multipart ? ((req.body ?? {}) as Record<string, unknown>) : {};
  const input = {
    format: multipart ? text(fields.format) : RAW_IMPORT_TYPES[type],
    password: multipart ? text(fields.password) : text(req.get(PASSWORD_HEADER)),
    preSharedKey: multipart ? text(fields.preSharedKey) : text(req.get(KEY_HEADER)),
  };
  // The JSON guard ran before the body was read: the same rules for these fields (and headers).
  const problem = findInputProblem(multipart ? fields : { [PASSWORD_HEADER]: input.password, [KEY_HEADER]: input.preSharedKey });
  if (problem) throw new BadRequestError(problem);
  const content = multipart ? req.file?.buffer : Buffer.isBuffer(req.body) ? req.body : undefined;
  if (!content || content.length === 0) {
    throw new BadRequestError(multipart ? 'The form has no file: send it in the field named "file".' : `The request body is empty: send the file's content as the body. ${ACCEPTED}`);
  }
  return { ...input, filename: multipart ? (req.file?.originalname ?? '') : '', content };
}
