/**
 * CSRF protection (SEC-19) with csrf-csrf's signed double-submit cookie, bound to the session id.
 * Forms send `_csrf`; htmx sends the `x-csrf-token` header (set once on <body hx-headers>).
 */
import { doubleCsrf } from 'csrf-csrf';
import type { NextFunction, Request, Response } from 'express';

export function createCsrf(secret: string, secure: boolean) {
  const { generateCsrfToken, doubleCsrfProtection } = doubleCsrf({
    getSecret: () => secret,
    // Before sign-in the session id is the anonymous session's; after rotation a new token is issued.
    getSessionIdentifier: (req) => req.sessionID ?? '',
    cookieName: secure ? '__Host-mfa.csrf' : 'mfa.csrf',
    cookieOptions: { sameSite: 'lax', secure, path: '/', httpOnly: true },
    getCsrfTokenFromRequest: (req) => (req.body && typeof req.body._csrf === 'string' ? req.body._csrf : req.get('x-csrf-token')),
    errorConfig: { statusCode: 403, message: 'This form has expired. Reload the page and try again.', code: 'csrf_invalid' },
  });

  return {
    protect: doubleCsrfProtection,
    /** Exposes a token to templates. Marks the session as used so its id stays stable. */
    provideToken(req: Request, res: Response, next: NextFunction) {
      if (req.session && !req.session.createdAt) req.session.createdAt = Date.now();
      res.locals.csrfToken = generateCsrfToken(req, res, { overwrite: false, validateOnReuse: false });
      next();
    },
  };
}
