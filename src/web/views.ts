/** Eta templates: one engine, page-or-partial rendering, HX-* handling in one place. */
import path from 'node:path';
import { Eta } from 'eta';
import type { Request, Response } from 'express';
import { PROJECT_ROOT } from '../lib/project-root';

export const VIEWS_DIR = path.join(PROJECT_ROOT, 'views');

export function createViewEngine(cache: boolean): Eta {
  return new Eta({ views: VIEWS_DIR, cache, autoEscape: true, autoTrim: [false, 'nl'] });
}

/** An htmx request that wants a fragment (a boosted navigation wants the whole page). */
export function wantsFragment(req: Request): boolean {
  return req.get('HX-Request') === 'true' && req.get('HX-Boosted') !== 'true';
}

/**
 * Renders `page`, or `partial` alone for an htmx fragment request. Both receive the same data,
 * plus res.locals (csrf token, signed-in admin, flash, current path).
 */
export function render(req: Request, res: Response, view: { page: string; partial?: string }, data: Record<string, unknown> = {}, status = 200): void {
  const eta = req.app.get('eta') as Eta;
  const template = view.partial && wantsFragment(req) ? view.partial : view.page;
  const html = eta.render(template, { ...res.locals, ...data });
  res.status(status).type('html').send(html);
}

/**
 * Redirect that also works for htmx requests (which follow HX-Redirect, not a 302 body swap).
 * The session is saved first: express-session flushes the headers before its own save finishes,
 * and a browser follows a 303 on the headers alone, so the next page could otherwise read the
 * session from before this request (flash missing, or not yet signed in after a rotation).
 */
export function redirect(req: Request, res: Response, url: string): void {
  const send = () => {
    if (req.get('HX-Request') === 'true' && req.get('HX-Boosted') !== 'true') {
      res.set('HX-Redirect', url).status(204).end();
      return;
    }
    res.redirect(303, url);
  };
  if (!req.session) return send();
  req.session.save((err) => (err ? req.next?.(err) : send()));
}

export function flash(req: Request, kind: 'success' | 'error', text: string): void {
  req.session.flash = { kind, text };
}

/** Reads a flash message once (it is gone from the session afterwards). */
export function takeFlash(req: Request): { kind: 'success' | 'error'; text: string } | undefined {
  const message = req.session.flash;
  delete req.session.flash;
  return message;
}

/** A text field of a posted form, cut to `max` characters; '' when absent or not text. */
export function bodyText(req: Request, name: string, max = 300): string {
  const value = req.body?.[name];
  return typeof value === 'string' ? value.slice(0, max) : '';
}
