/**
 * The signed-in portal (SPEC §5.3): profile, tokens in this resource, and exactly the actions the
 * administrator allowed (each action's routes gate themselves: 403 when disabled, however the
 * request was made).
 */
import type { Request, Response } from 'express';
import { ACTION_GROUPS, ENROLLMENT_TYPES } from '../selfservice/self-service.types';
import { render } from '../web/views';
import { messagePage, type createActionGate } from './action-gate';

export function createPortalDashboardController(gates: ReturnType<typeof createActionGate>) {
  return {
    /** After gates.signedInUser. */
    dashboard(req: Request, res: Response) {
      const { dashboard } = req.portalUser!;
      const offered = new Set(gates.offered(req));
      const groups = ACTION_GROUPS.map((g) => ({ label: g.label, actions: g.actions.filter(([id]) => offered.has(id)).map(([id, label]) => ({ id, label })) })).filter((g) => g.actions.length > 0);
      const enrollmentTypes = ENROLLMENT_TYPES.filter(([id]) => req.portal!.resource.enrollmentTokenTypes.includes(id)).map(([, label]) => label);
      const flash = req.session.flash;
      delete req.session.flash;
      // "Trust this browser?" is asked on the first dashboard of a sign-in only, not after every action.
      if (res.locals.trustPrompt?.ask && req.session.trustOffer) req.session.trustOffer.asked = true;
      render(req, res, { page: 'portal/dashboard' }, { ...dashboard, groups, enrollmentTypes, flash });
    },

    /** Every action has its own routes; anything else under /actions is not one. */
    unknownAction(req: Request, res: Response) {
      messagePage(req, res, 404, 'Not found', 'There is no such action in this portal.');
    },
  };
}
