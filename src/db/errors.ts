/** Recognises PostgreSQL errors that the domain turns into user-facing messages. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && (!constraint || e.constraint === constraint);
}

export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23503';
}

/** True for a malformed uuid, so lookups by a garbage id answer "not found" instead of 500. */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

// Node socket errors of a connection that cannot be made or was cut, and PostgreSQL's SQLSTATEs for
// "the server is going away or not accepting connections" (class 08 is checked by prefix), and a
// statement or lock timeout (57014, 55P03): the database could not answer in time (SEC-09).
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', '57P01', '57P02', '57P03', '53300', '57014', '55P03']);
const UNAVAILABLE_MESSAGE = /Connection terminated|Connection ended unexpectedly|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|Knex: Timeout acquiring a connection/i;

/**
 * True when `err` says the database cannot be reached (refused, cut, shutting down, pool acquire
 * timeout, a statement or lock timeout), so a request answers 503 "try again" instead of 500. Node may wrap the refusals of
 * several addresses in an AggregateError; each is looked at.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown; errors?: unknown } | null | undefined;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return true;
  return Array.isArray(e.errors) && e.errors.some(isDatabaseUnavailable);
}
