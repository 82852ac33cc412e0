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

/**
 * True when the database could not answer (SEC-09): a statement or lock timeout, a connection
 * lost, refused or not given by the pool in time. The request is refused with 503, never
 * guessed at: nothing that needed the database is taken as done.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string };
  if (!e) return false;
  // 57014 statement timeout / cancel, 57P0x shutdown or terminated, 08xxx connection, 53300 too many connections, 55P03 lock timeout.
  if (typeof e.code === 'string' && /^(57014|57P0[1-3]|08...|53300|55P03)$/.test(e.code)) return true;
  if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'ETIMEDOUT' || e.code === 'EPIPE') return true;
  if (e.name === 'KnexTimeoutError') return true;
  return /Connection terminated|connection is closed|Client has encountered a connection error/i.test(e.message ?? '');
}
