/**
 * Maps errors to responses: typed domain errors to their status with a clear message; anything
 * else to a generic page or body, logged with the request id and never shown (no stack traces).
 */
import type { NextFunction, Request, Response } from 'express';
import { DomainError, ValidationError, ConflictError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { isDatabaseUnavailable } from '../db/errors';

const UNAVAILABLE = 'The service is briefly unavailable. Try again in a moment.';

/**
 * 503 when the database could not answer (SEC-09: fail closed, nothing was decided; the client may
 * retry), logged as a warning without the query; undefined for anything else.
 */
export function unavailableErrorOf(err: unknown, log: Logger, requestId?: string): { status: 503; message: string } | undefined {
  if (!isDatabaseUnavailable(err)) return undefined;
  log.warn({ err: (err as Error).message, requestId }, 'database unavailable');
  return { status: 503, message: UNAVAILABLE };
}
import { render } from './views';

interface HttpishError {
  status?: number;
  statusCode?: number;
  code?: string;
  type?: string;
  message?: string;
}

/** Body-parser, CSRF and similar middleware errors carry a 4xx status of their own. */
export function clientErrorOf(err: unknown): { status: number; code: string; message: string } | undefined {
  const e = err as HttpishError;
  const status = e?.status ?? e?.statusCode;
  if (!status || status < 400 || status >= 500) return undefined;
  if (e.type === 'entity.parse.failed') return { status: 400, code: 'invalid_json', message: 'The request body is not valid JSON.' };
  if (e.type === 'entity.too.large') return { status: 413, code: 'too_large', message: 'The request body is too large.' };
  if (e.code === 'csrf_invalid' || e.code === 'EBADCSRFTOKEN') return { status: 403, code: 'csrf_invalid', message: 'This form has expired. Reload the page and try again.' };
  return { status, code: e.code ?? 'bad_request', message: e.message ?? 'The request could not be processed.' };
}

export function jsonErrorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof DomainError) {
      const body: Record<string, unknown> = { code: err.code, message: err.message };
      if (err instanceof ValidationError || (err instanceof ConflictError && Object.keys(err.fields).length)) body.fields = err.fields;
      res.status(err.status).json({ error: body });
      return;
    }
    const client = clientErrorOf(err);
    if (client) {
      res.status(client.status).json({ error: { code: client.code, message: client.message } });
      return;
    }
    const unavailable = unavailableErrorOf(err, log, req.requestId);
    if (unavailable) {
      res.status(503).set('Retry-After', '1').json({ error: { code: 'unavailable', message: unavailable.message } });
      return;
    }
    log.error({ err, requestId: req.requestId }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal', message: `Something went wrong on our side. Reference: ${req.requestId}` } });
  };
}

export function htmlErrorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let status = 500;
    let message = `Something went wrong on our side. Reference: ${req.requestId}`;
    if (err instanceof DomainError) {
      status = err.status;
      message = err.message;
    } else {
      const client = clientErrorOf(err);
      if (client) {
        status = client.status;
        message = client.message;
      } else if (unavailableErrorOf(err, log, req.requestId)) {
        status = 503;
        message = UNAVAILABLE;
      } else {
        log.error({ err, requestId: req.requestId }, 'unhandled error');
      }
    }
    if (res.headersSent) return;
    render(req, res, { page: 'error', partial: '_error' }, { status, message }, status);
  };
}
