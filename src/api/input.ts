/** Request reading shared by the API controllers. Field rules live in the services' zod schemas. */
import type { Request } from 'express';
import { BadRequestError } from '../lib/errors';
import { pageRequest, type PageRequest } from '../lib/pagination';

/**
 * The parsed JSON body, which must be an object. A missing body (no JSON content type) or an
 * array answers 400 here, so the services only ever see objects.
 */
export function jsonObject(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestError('Send a JSON object as the body, with "Content-Type: application/json".');
  }
  return body as Record<string, unknown>;
}

/** `q`, `page` and `perPage` from the query string; repeated or garbled values fall back to defaults. */
export function listQuery(req: Request): { q: string; page: PageRequest } {
  const q = typeof req.query.q === 'string' ? req.query.q : '';
  return { q, page: pageRequest({ page: req.query.page, perPage: req.query.perPage }) };
}

/** A route parameter as a string (Express 5 types allow arrays for wildcard params). */
export function param(req: Request, name: string): string {
  return String(req.params[name] ?? '');
}
