/**
 * Typed domain errors. Services throw these; one handler per surface maps them to a response
 * (an HTML page or fragment for the console, a JSON error body for the API).
 */
export type FieldErrors = Record<string, string>;

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
}

export class ValidationError extends DomainError {
  readonly status = 422;
  readonly code = 'validation_failed';
  constructor(readonly fields: FieldErrors, message = 'Some fields need attention.') {
    super(message);
  }
}

export class BadRequestError extends DomainError {
  readonly status = 400;
  readonly code = 'bad_request';
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly code = 'unauthorized';
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly code = 'forbidden';
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly code = 'not_found';
  constructor(what = 'That item') {
    super(`${what} was not found.`);
  }
}

export class ConflictError extends DomainError {
  readonly status = 409;
  readonly code = 'conflict';
  constructor(message: string, readonly fields: FieldErrors = {}) {
    super(message);
  }
}

/** A request body over a stated limit; the message names the limit. */
export class PayloadTooLargeError extends DomainError {
  readonly status = 413;
  readonly code = 'too_large';
}

/** A body in a format the route does not read; the message lists the ones it does. */
export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}

export class RateLimitedError extends DomainError {
  readonly status = 429;
  readonly code = 'rate_limited';
}

/** Something the service depends on (e.g. the job queue) is unreachable right now; a retry later may work. */
export class ServiceUnavailableError extends DomainError {
  readonly status = 503;
  readonly code = 'unavailable';
}
