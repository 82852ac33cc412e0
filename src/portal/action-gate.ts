/**
 * Middleware for the portal's self-service action routes (SPEC §5.3). `gate(action)` lets only a
 * signed-in, still-assigned user through, and only to an action the administrator enabled (403
 * otherwise, however the request was made); a user who must enroll a second factor first reaches
 * enrollment only. It sets `req.portalUser` (the acting user for the domain services) and the
 * layout's signed-in header. `freshSecondFactor` sends a user without a recent second factor to
 * the step-up page first (SEC-14). The domain services check the same rules again.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { PortalSignInService, PortalDashboard } from '../portal-sign-in/sign-in.service';
import type { Db } from '../db/knex';
import { isActionAllowed, needsStepUp, type PortalUser } from '../portal-actions/portal-user';
import type { AllowedAction } from '../selfservice/self-service.types';
import { redirect, render } from '../web/views';
import { rotate, signInState } from './portal-session';
import { visitorOf } from './visitor';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The signed-in portal user, set by the action gate. */
      portalUser?: PortalUser & { dashboard: PortalDashboard };
    }
  }
}

/** How the header names the user: their name, else their login. */
export function displayName(user: { firstName: string | null; lastName: string | null; login: string }): string {
  return [user.firstName, user.lastName].filter(Boolean).join(' ') || user.login;
}

/** A one-message portal page with the signed-in header. */
export function messagePage(req: Request, res: Response, status: number, heading: string, text: string, extra: Record<string, unknown> = {}): void {
  render(req, res, { page: 'portal/message' }, { title: heading, heading, text, back: true, ...extra }, status);
}

export function createActionGate(signIn: PortalSignInService, db: Db) {
  /** Loads the signed-in user, or sends the visitor to sign in (and ends a revoked session, SEC-15). */
  async function signedInUser(req: Request, res: Response, next: NextFunction): Promise<void> {
    const state = signInState(req);
    if (state?.stage !== 'signed_in' || !state.userId) return res.redirect(303, req.portal!.base);
    const dashboard = await signIn.dashboard(req.portal!.resource, state.userId);
    if (!dashboard) {
      await rotate(req, undefined); // a new id whose cookie stays on this portal's path
      req.session.flash = { kind: 'error', text: 'Your session has ended. Sign in again.' };
      return redirect(req, res, req.portal!.base);
    }
    req.portalUser = { portal: req.portal!.resource, userId: state.userId, secondFactorAt: state.secondFactorAt, visitor: visitorOf(req), sessionId: req.sessionID, dashboard };
    res.locals.signedIn = true;
    res.locals.who = displayName(dashboard.user);
    next();
  }

  /** The actions this user is offered: the enabled ones, or only enrollment while they must enroll (SPEC §2). */
  function offered(req: Request): AllowedAction[] {
    const u = req.portalUser!;
    return (u.portal.allowedActions as AllowedAction[]).filter((id) => !u.dashboard.mustEnroll || id === 'enroll_token');
  }

  function gate(action: AllowedAction): RequestHandler[] {
    return [
      signedInUser,
      (req, res, next) => {
        if (!isActionAllowed(req.portal!.resource, action)) return messagePage(req, res, 403, 'Not allowed', 'Your administrator has not enabled this action in this portal.');
        if (!offered(req).includes(action)) return messagePage(req, res, 403, 'Enroll a second factor first', 'This portal requires a second factor. Enroll one before using other actions.');
        next();
      },
    ];
  }

  /** After `gate`: a GET goes to the step-up page and comes back; any other request gets 403 with a link. */
  async function freshSecondFactor(req: Request, res: Response, next: NextFunction): Promise<void> {
    if (!(await needsStepUp(db, req.portalUser!))) return next();
    const back = req.method === 'GET' ? req.originalUrl : `${req.portal!.base}`;
    const stepUpUrl = `${req.portal!.base}step-up?next=${encodeURIComponent(back)}`;
    if (req.method === 'GET') return res.redirect(303, stepUpUrl);
    messagePage(req, res, 403, 'Confirm it is you', 'This change needs a second factor proven in the last 5 minutes.', { link: { href: stepUpUrl, text: 'Confirm with your second factor' } });
  }

  return { signedInUser, gate, offered, freshSecondFactor };
}
