/**
 * The signed-in portal (SPEC §5.3): profile, tokens in this resource, and exactly the actions the
 * administrator allowed. An action whose flow is not built yet answers honestly that it is not
 * available; a disabled action is refused (403) by the gate, however the request was made.
 */
import type { NextFunction, Request, Response } from 'express';
import { ACTION_GROUPS, ALLOWED_ACTIONS, ENROLLMENT_TYPES, type AllowedAction } from '../selfservice/self-service.types';
import { render } from '../web/views';
import { messagePage, type createActionGate } from './action-gate';

const ACTION_LABELS = new Map<string, string>(ACTION_GROUPS.flatMap((g) => g.actions.map(([id, label]) => [id, label] as [string, string])));

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
      render(req, res, { page: 'portal/dashboard' }, { ...dashboard, groups, enrollmentTypes, flash });
    },

    /** GET /actions/{id} for an action without a flow of its own yet: 404 unknown, gate's 403, else "not available yet". */
    notBuiltYet(req: Request, res: Response, next: NextFunction) {
      const id = String(req.params.action);
      if (!ALLOWED_ACTIONS.includes(id as AllowedAction)) return messagePage(req, res, 404, 'Not found', 'There is no such action in this portal.');
      const [signedIn, allowed] = gates.gate(id as AllowedAction);
      signedIn(req, res, (err?: unknown) => {
        if (err) return next(err);
        allowed(req, res, () => {
          const label = ACTION_LABELS.get(id)!;
          messagePage(req, res, 200, label, `${label} is not available in this portal yet. Your administrator can help in the meantime.`);
        });
      });
    },
  };
}
