/**
 * CSRF protection (SEC-19) with csrf-csrf's signed double-submit cookie, bound to the session id.
 * Forms send `_csrf`; htmx sends the `x-csrf-token` header (static/app.js reads #csrf-token).
 * The console and the portals use separate instances: their own cookie name, and for a portal
 * its own cookie path, so tabs of different surfaces never overwrite each other's token.
 */
import { doubleCsrf } from 'csrf-csrf';
import type { NextFunction, Request, Response } from 'express';

export interface CsrfOptions {
  cookieName: string;
  /** The cookie path for this request (default `/`). */
  pathOf?: (req: Request) => string;
}

export function createCsrf(secret: string, secure: boolean, options: CsrfOptions) {
  const { generateCsrfToken, doubleCsrfProtection } = doubleCsrf({
    getSecret: () => secret,
    // Before sign-in the session id is the anonymous session's; after rotation a new token is issued.
    // A portal's tokens also name its resource, so a token of portal A never passes at portal B (SPEC §5.1).
    getSessionIdentifier: (req) => (req.portal ? `${req.portal.resource.id}:` : '') + (req.sessionID ?? ''),
    cookieName: options.cookieName,
    cookieOptions: { sameSite: 'lax', secure, path: '/', httpOnly: true },
    getCsrfTokenFromRequest: (req) => (req.body && typeof req.body._csrf === 'string' ? req.body._csrf : req.get('x-csrf-token')),
    errorConfig: { statusCode: 403, message: 'This form has expired. Reload the page and try again.', code: 'csrf_invalid' },
  });

  return {
    protect: doubleCsrfProtection,
    /** Exposes a token to templates. Marks the session as used so its id stays stable. */
    provideToken(req: Request, res: Response, next: NextFunction) {
      if (req.session && !req.session.createdAt) req.session.createdAt = Date.now();
      const path = options.pathOf?.(req) ?? '/';
      res.locals.csrfToken = generateCsrfToken(req, res, { overwrite: false, validateOnReuse: false, cookieOptions: { sameSite: 'lax', secure, path, httpOnly: true } });
      next();
    },
  };
}
