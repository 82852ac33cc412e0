/**
 * Request logs show each request's URL; some URLs carry a one-time secret in their path (an admin
 * invitation link), which must never reach the logs (SEC-23). The pino-http request serializer
 * passes every URL through here.
 */
const SECRET_PATHS: RegExp[] = [/^(\/admin\/invite\/)[^/?#]+/];

export function redactUrl(url: string): string {
  for (const pattern of SECRET_PATHS) url = url.replace(pattern, '$1[redacted]');
  return url;
}

/** A pino-http `req` serializer (it receives pino's standard request object) with the URL redacted. */
export function redactRequest<T extends { url?: string }>(req: T): T {
  if (typeof req.url === 'string') req.url = redactUrl(req.url);
  return req;
}
