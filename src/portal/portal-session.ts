/**
 * Portal sessions (SPEC §5.1, §5.2; SEC-17, SEC-18): their own cookie, separate from the
 * console's, scoped to the portal's path (`/portal/{address}/`, or `/` on its own host), stored
 * in PostgreSQL like every session, 15 minutes idle and 12 hours at most. The state names the
 * resource it belongs to: a session of portal A presented at portal B is treated as no session
 * (and B starts a fresh one, leaving A's untouched).
 */
import session from 'express-session';
import type { NextFunction, Request, Response } from 'express';
import type { Db } from '../db/knex';
import { PgSessionStore } from '../web/session-store';
import type { PendingCeremony } from '../webauthn/webauthn.types';

export const PORTAL_IDLE_MINUTES = 15;
const ABSOLUTE_MS = 12 * 3_600_000;
/** A sign-in left half way (login typed, factor pending) restarts after this long. */
const PENDING_MS = 10 * 60_000;

export interface PortalSignInState {
  resourceId: string;
  stage: 'first_factor' | 'second_factor' | 'signed_in';
  /** The login as typed (first factor) — never echoed as "found" or "not found". */
  login?: string;
  /** Binds an emailed sign-in code to this sign-in (SEC-10); see newCodeBinding. */
  codeBinding?: string;
  /** Known after the first factor. */
  userId?: string;
  startedAt: number;
  signedInAt?: number;
  /** When the user last proved a second factor (step-up for sensitive actions, SEC-14). */
  secondFactorAt?: number;
  /** A token enrolment in progress (SPEC §5.3); backup codes sealed for their download while it is pending. */
  enrollment?: { tokenId: string; type: string; codesSealed?: string };
  /** A WebAuthn ceremony in progress (its challenge), taken out when answered: single use. */
  webauthn?: PendingCeremony;
}

declare module 'express-session' {
  interface SessionData {
    portal?: PortalSignInState;
  }
}

export function portalCookieName(secure: boolean): string {
  // __Host- needs path=/, which path-mode portals do not have; __Secure- still demands HTTPS.
  return secure ? '__Secure-mfa.portal.sid' : 'mfa.portal.sid';
}

export function createPortalSessions(db: Db, secret: string, secure: boolean) {
  const store = new PgSessionStore(db, PORTAL_IDLE_MINUTES * 60_000);
  const middleware = session({
    name: portalCookieName(secure),
    secret,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: 'lax', secure, maxAge: PORTAL_IDLE_MINUTES * 60_000, path: '/' },
  });

  /** Scopes the cookie to this portal and drops a session that belongs to another portal. */
  function bind(req: Request, _res: Response, next: NextFunction): void {
    const scope = () => {
      req.session.cookie.path = req.portal!.base;
      next();
    };
    const state = req.session.portal;
    if (state && state.resourceId !== req.portal!.resource.id) {
      // A fresh session for this request only: regenerate() would destroy the other portal's session.
      req.sessionStore.generate(req);
    }
    scope();
  }

  return { store, middleware, bind };
}

/** This portal's sign-in state, or undefined when there is none or it timed out. */
export function signInState(req: Request): PortalSignInState | undefined {
  const state = req.session.portal;
  if (!state || state.resourceId !== req.portal?.resource.id) return undefined;
  const now = Date.now();
  if (state.stage === 'signed_in' ? now - (state.signedInAt ?? 0) > ABSOLUTE_MS : now - state.startedAt > PENDING_MS) {
    delete req.session.portal;
    return undefined;
  }
  return state;
}

/** Rotates the session id (SEC-17) and keeps only the given state; the cookie stays on this portal's path. */
export function rotate(req: Request, state: PortalSignInState | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.regenerate((err) => {
      if (err) return reject(err);
      req.session.createdAt = Date.now();
      req.session.cookie.path = req.portal!.base;
      if (state) req.session.portal = state;
      resolve();
    });
  });
}
