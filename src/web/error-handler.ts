/**
 * Maps errors to responses: typed domain errors to their status with a clear message; anything
 * else to a generic page or body, logged with the request id and never shown (no stack traces).
 */
import type { NextFunction, Request, Response } from 'express';
import { DomainError, ValidationError, ConflictError, ServiceUnavailableError } from '../lib/errors';
import { isDatabaseUnavailable } from '../db/errors';
import type { Logger } from '../lib/logger';
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

/**
 * PostgreSQL unreachable (restart, failover): a 503 the client may retry, not a 500 "our bug".
 * Logged as a warning: during an outage every request would otherwise log an error with its stack.
 */
function asUnavailable(err: unknown, req: Request, log: Logger): unknown {
  if (!isDatabaseUnavailable(err)) return err;
  log.warn({ err: (err as Error).message, requestId: req.requestId }, 'database unavailable');
  return new ServiceUnavailableError('The service is briefly unavailable. Try again in a moment.');
}

export function jsonErrorHandler(log: Logger) {
  return (caught: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const err = asUnavailable(caught, req, log);
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
    log.error({ err, requestId: req.requestId }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal', message: `Something went wrong on our side. Reference: ${req.requestId}` } });
  };
}

export function htmlErrorHandler(log: Logger) {
  return (caught: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const err = asUnavailable(caught, req, log);
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
      } else {
        log.error({ err, requestId: req.requestId }, 'unhandled error');
      }
    }
    if (res.headersSent) return;
    render(req, res, { page: 'error', partial: '_error' }, { status, message }, status);
  };
}
