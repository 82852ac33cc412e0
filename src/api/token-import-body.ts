/**
 * Reads the body of `POST /api/v1/token-imports` into what the token import service takes: a raw
 * `text/csv` or PSKC XML body with the password or pre-shared key in a header, or a multipart form
 * with the file and those as fields. Bounded by the console's limit (IMPORT_MAX_BYTES); every
 * refusal is a typed 4xx naming what to send. The file itself is checked by the parsers (any bad
 * byte refuses it, naming the line), the few text fields by the same guard as JSON bodies.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import multer from 'multer';
import { BadRequestError, UnsupportedMediaTypeError } from '../lib/errors';
import { IMPORT_MAX_BYTES } from '../tokens/import/import.types';
import type { StartImportInput } from '../tokens/import/import.service';
import { findInputProblem } from '../web/input-guard';
import { fileTooLarge, uploadError } from '../web/upload-errors';

/** Raw body types and the format each one declares (the content type wins over detection). */
export const RAW_IMPORT_TYPES: Record<string, 'csv' | 'pskc'> = {
  'text/csv': 'csv',
  'application/pskc+xml': 'pskc',
  'application/xml': 'pskc',
  'text/xml': 'pskc',
};
export const PASSWORD_HEADER = 'X-PSKC-Password';
export const KEY_HEADER = 'X-PSKC-Key';

const ACCEPTED = `Send the file as text/csv, application/pskc+xml or application/xml, or as multipart/form-data with the file in the field "file".`;

function mediaType(req: Request): string {
  return (req.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * Body-parser failures of a raw body as typed errors: over the limit is a 413 naming it, an unknown
 * Content-Encoding a 415, anything else (corrupt gzip, a cut-off body) a 400 with our own words
 * rather than zlib's codes.
 */
function rawError(err: unknown): Error {
  const e = err as { status?: number; type?: string };
  if (e.type === 'entity.too.large' || e.status === 413) return fileTooLarge();
  if (e.type === 'encoding.unsupported') return new UnsupportedMediaTypeError('The Content-Encoding is not supported: send the file as is, or compressed with gzip, deflate or br.');
  return new BadRequestError('The request body could not be read: check that it is complete and matches its Content-Encoding.');
}

/** Middleware for the route: parses the body by its content type, or refuses the type with 415. */
export function readTokenImportBody(): RequestHandler {
  const raw = express.raw({ type: () => true, limit: IMPORT_MAX_BYTES });
  const multipart = multer({ storage: multer.memoryStorage(), limits: { fileSize: IMPORT_MAX_BYTES, files: 1, fields: 10, fieldSize: 10_000, parts: 12 } }).single('file');
  return (req: Request, res: Response, next: NextFunction) => {
    const type = mediaType(req);
    if (type === 'multipart/form-data') return multipart(req, res, (err: unknown) => next(err ? uploadError(err) : undefined));
    if (type in RAW_IMPORT_TYPES) return raw(req, res, (err: unknown) => next(err ? rawError(err) : undefined));
    next(new UnsupportedMediaTypeError(type ? `The content type "${type.slice(0, 100)}" is not accepted. ${ACCEPTED}` : `The request has no content type. ${ACCEPTED}`));
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * A header value as the UTF-8 its bytes are: Node hands headers over as latin1, which would turn
 * a password such as "pässwort" into "pÃ¤sswort" and make the right password read as wrong.
 */
function utf8Header(req: Request, name: string): string | undefined {
  const value = text(req.get(name));
  return value === undefined ? undefined : Buffer.from(value, 'latin1').toString('utf8');
}

/** After readTokenImportBody: the service's input. A missing or empty file, or a bad field, is a 400. */
export function tokenImportInput(req: Request): StartImportInput {
  const type = mediaType(req);
  const multipart = type === 'multipart/form-data';
  const fields = multipart ? ((req.body ?? {}) as Record<string, unknown>) : {};
  const input = {
    format: multipart ? text(fields.format) : RAW_IMPORT_TYPES[type],
    password: multipart ? text(fields.password) : utf8Header(req, PASSWORD_HEADER),
    preSharedKey: multipart ? text(fields.preSharedKey) : utf8Header(req, KEY_HEADER),
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
