/**
 * The signed-in portal (SPEC §5.3): profile, tokens in this resource, and exactly the actions the
 * administrator allowed. The actions' own flows arrive with the next slice; until then each one
 * answers honestly that it is not available yet. A disabled action is refused (403) on the
 * server, however the request was made.
 */
import type { Request, Response } from 'express';
import type { PortalSignInService } from '../portal-sign-in/sign-in.service';
import { ACTION_GROUPS, ALLOWED_ACTIONS, ENROLLMENT_TYPES } from '../selfservice/self-service.types';
import { redirect, render } from '../web/views';
import { rotate, signInState } from './portal-session';

const ACTION_LABELS = new Map<string, string>(ACTION_GROUPS.flatMap((g) => g.actions.map(([id, label]) => [id, label] as [string, string])));

/** How the header names the user: their name, else their login. */
function displayName(user: { firstName: string | null; lastName: string | null; login: string }): string {
  return [user.firstName, user.lastName].filter(Boolean).join(' ') || user.login;
}

export function createPortalDashboardController(signIn: PortalSignInService) {
  /** The signed-in user's dashboard data, or a redirect to sign-in (and the session ends) when they may no longer be here. */
  async function signedIn(req: Request, res: Response) {
    const state = signInState(req);
    if (state?.stage !== 'signed_in' || !state.userId) {
      res.redirect(303, req.portal!.base);
      return undefined;
    }
    const dashboard = await signIn.dashboard(req.portal!.resource, state.userId);
    if (!dashboard) {
      await rotate(req, undefined); // a new id whose cookie stays on this portal's path
      req.session.flash = { kind: 'error', text: 'Your session has ended. Sign in again.' };
      redirect(req, res, req.portal!.base);
      return undefined;
    }
    return dashboard;
  }

  /** The enabled actions; a user who must enroll a second factor first is offered enrollment only (SPEC §2). */
  const offered = (req: Request, mustEnroll: boolean) => req.portal!.resource.allowedActions.filter((id) => !mustEnroll || id === 'enroll_token');

  const allowedGroups = (req: Request, mustEnroll: boolean) => {
    const allowed = new Set(offered(req, mustEnroll));
    return ACTION_GROUPS.map((g) => ({ label: g.label, actions: g.actions.filter(([id]) => allowed.has(id)).map(([id, label]) => ({ id, label })) })).filter((g) => g.actions.length > 0);
  };

  return {
    async dashboard(req: Request, res: Response) {
      const dashboard = await signedIn(req, res);
      if (!dashboard) return;
      const flash = req.session.flash;
      delete req.session.flash;
      const enrollmentTypes = ENROLLMENT_TYPES.filter(([id]) => req.portal!.resource.enrollmentTokenTypes.includes(id)).map(([, label]) => label);
      render(req, res, { page: 'portal/dashboard' }, { ...dashboard, groups: allowedGroups(req, dashboard.mustEnroll), enrollmentTypes, flash });
    },

    /** GET /actions/{id}: 404 for an unknown action, 403 when not allowed here, else "not available yet". */
    async action(req: Request, res: Response) {
      const id = String(req.params.action);
      if (!ALLOWED_ACTIONS.includes(id as (typeof ALLOWED_ACTIONS)[number])) {
        render(req, res, { page: 'portal/message' }, { title: 'Not found', heading: 'Not found', text: 'There is no such action in this portal.' }, 404);
        return;
      }
      const dashboard = await signedIn(req, res);
      if (!dashboard) return;
      // The header keeps the user's name and Sign out on these pages too.
      const page = (status: number, title: string, heading: string, text: string) =>
        render(req, res, { page: 'portal/message' }, { title, heading, text, back: true, signedIn: true, who: displayName(dashboard.user) }, status);
      if (!req.portal!.resource.allowedActions.includes(id)) return page(403, 'Not allowed', 'Not allowed', 'Your administrator has not enabled this action in this portal.');
      if (!offered(req, dashboard.mustEnroll).includes(id)) return page(403, 'Not yet', 'Enroll a second factor first', 'This portal requires a second factor. Enroll one before using other actions.');
      const label = ACTION_LABELS.get(id)!;
      page(200, label, label, `${label} is not available in this portal yet. Your administrator can help in the meantime.`);
    },
  };
}
