/**
 * The response headers of every JSON API answer, set in one step. The API is mounted before
 * helmet (its dozen headers are written for HTML pages, and each header costs the validation hot
 * path time on every check, SPEC §8); a JSON answer needs only the set of the OWASP REST Security
 * Cheat Sheet: never cached (answers carry tenant data), never sniffed or framed, and HSTS in
 * production. (No ETag either: the app does not generate them, see app.ts.)
 */
import type { NextFunction, Request, Response } from 'express';

export function apiHeaders(production: boolean) {
  const headers = new Map<string, string>([
    ['Cache-Control', 'no-store'],
    ['X-Content-Type-Options', 'nosniff'],
    ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
    ['X-Frame-Options', 'DENY'],
    ...(production ? [['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'] as [string, string]] : []),
  ]);
  return (_req: Request, res: Response, next: NextFunction) => {
    res.setHeaders(headers);
    next();
  };
}
