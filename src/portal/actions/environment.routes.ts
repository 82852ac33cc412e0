/**
 * Manage User Environment (SPEC §5.3) and "Trust this browser" (§5.4), relative to
 * `{portal}/actions`. Every route passes the action gate (signed in, action enabled, else 403);
 * the environment service checks the action and the owner again (another user's id is a 404).
 */
import { Router, type Request, type Response } from 'express';
import type { Services } from '../../services';
import { sameSecret } from '../../lib/crypto';
import { ValidationError } from '../../lib/errors';
import { redirect, render } from '../../web/views';
import type { createActionGate } from '../action-gate';
import { messagePage } from '../action-gate';
import { currentDeviceHash, ensureDeviceId, environmentsOf, trustOffered } from '../complete-sign-in';

const PAGE = 'portal/actions/environment';

export function environmentRoutes(_services: Services, gates: ReturnType<typeof createActionGate>): Router {
  const r = Router();
  const gate = gates.gate('manage_environment');
  const home = (req: Request) => `${req.portal!.base}actions/manage_environment`;

  async function listPage(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) {
    const environments = await environmentsOf(req).service.list(req.portalUser!, currentDeviceHash(req));
    const flash = req.session.flash;
    delete req.session.flash;
    render(req, res, { page: PAGE }, { environments, flash, canTrust: trustOffered(req), errors: {}, ...extra }, status);
  }

  r.get('/manage_environment', ...gate, (req, res) => listPage(req, res));

  r.post('/manage_environment/trust', ...gate, async (req, res) => {
    if (!trustOffered(req)) {
      return messagePage(req, res, 403, 'Sign in with your second factor first', 'Only a sign-in that included your second factor can trust this browser. Sign out, sign in again, then trust it.');
    }
    try {
      const hash = environmentsOf(req).cookie.hash(ensureDeviceId(req, res));
      const environment = await environmentsOf(req).service.trust(req.portalUser!, hash, { label: req.body?.label });
      delete req.session.trustOffer;
      req.session.flash = { kind: 'success', text: `This browser is now trusted as "${environment.label}".` };
      redirect(req, res, home(req));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await listPage(req, res, { trustErrors: err.fields, trustLabel: String(req.body?.label ?? '').slice(0, 200) }, 422);
    }
  });

  /** "Not now": the dashboard stops asking for this sign-in (trusting stays possible on the manage page). */
  r.post('/manage_environment/not-now', ...gate, (req, res) => {
    if (req.session.trustOffer) req.session.trustOffer.asked = true;
    redirect(req, res, req.portal!.base);
  });

  r.post('/manage_environment/:id/rename', ...gate, async (req, res) => {
    const id = String(req.params.id);
    try {
      const environment = await environmentsOf(req).service.rename(req.portalUser!, id, { label: req.body?.label });
      req.session.flash = { kind: 'success', text: `Renamed to "${environment.label}".` };
      redirect(req, res, home(req));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      await listPage(req, res, { errors: { [id]: err.fields.label ?? err.message } }, 422);
    }
  });

  r.get('/manage_environment/:id/remove', ...gate, async (req, res) => {
    const environment = await environmentsOf(req).service.get(req.portalUser!, String(req.params.id));
    render(req, res, { page: `${PAGE}-remove` }, { environment, current: sameSecret(environment.deviceHash, currentDeviceHash(req)) });
  });

  r.post('/manage_environment/:id/remove', ...gate, async (req, res) => {
    const environment = await environmentsOf(req).service.remove(req.portalUser!, String(req.params.id));
    req.session.flash = { kind: 'success', text: `"${environment.label ?? environment.userAgentSummary}" is no longer trusted.` };
    redirect(req, res, home(req));
  });

  return r;
}
