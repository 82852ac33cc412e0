/**
 * Enroll Token, type `webauthn` (SPEC §5.3, SEC-14, SEC-26), relative to `{portal}/actions`:
 *   GET  /enroll_token/webauthn          the page (name + "Register security key"; static/webauthn.js)
 *   POST /enroll_token/webauthn/options  JSON: starts the ceremony, keeps its challenge in the session
 *   POST /enroll_token/webauthn          JSON: the browser's answer; stores the key, answers where to go
 * Only paths under /enroll_token/webauthn live here (the other types have their own routes).
 * The JSON endpoints answer errors as `{error: {code, message, fields?}}`.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Services } from '../../services';
import { DomainError } from '../../lib/errors';
import { requireEnrollmentType } from '../../portal-actions/portal-user';
import { relyingPartyOf } from '../../webauthn/relying-party';
import { createWebauthnEnrollment } from '../../webauthn/webauthn-enrollment.service';
import type { PendingCeremony } from '../../webauthn/webauthn.types';
import { render } from '../../web/views';
import { refuseBadInput } from '../../web/input-guard';
import type { createActionGate } from '../action-gate';

/** Parses the browser's JSON answers (the app itself only parses forms). */
/** The WebAuthn JSON bodies, refused like every other input when they carry bad text. */
export const webauthnJson = [express.json({ limit: '64kb' }), refuseBadInput];

/** Saves the session before answering (the next request must see the challenge, or its removal). */
export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
}

/** Keeps a new ceremony in the portal session, replacing any earlier one. */
export async function keepCeremony(req: Request, pending: PendingCeremony): Promise<void> {
  req.session.portal!.webauthn = pending;
  await saveSession(req);
}

/** Takes the ceremony out of the session before its answer is checked: a challenge is used once. */
export async function takeCeremony(req: Request): Promise<PendingCeremony | undefined> {
  const pending = req.session.portal?.webauthn;
  if (req.session.portal) delete req.session.portal.webauthn;
  await saveSession(req);
  return pending;
}

/** JSON requests get domain errors as JSON; anything else goes on to the portal's error page. */
export function jsonErrors(handler: (req: Request, res: Response) => Promise<void>) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      await handler(req, res);
    } catch (err) {
      if (!(err instanceof DomainError) || !req.is('application/json')) return next(err);
      const fields = (err as { fields?: Record<string, string> }).fields;
      res.status(err.status).json({ error: { code: err.code, message: err.message, ...(fields && Object.keys(fields).length ? { fields } : {}) } });
    }
  };
}

export function webauthnRoutes(services: Services, gates: ReturnType<typeof createActionGate>): Router {
  const enrollment = createWebauthnEnrollment(services.db, services.messages);
  const gate = gates.gate('enroll_token');
  const page = (req: Request) => `${req.portal!.base}actions/enroll_token/webauthn`;
  const r = Router();

  // The type is checked before the step-up redirect: a disabled type is 403 whoever asks.
  const typeEnabled = (req: Request, _res: Response, next: NextFunction) => {
    requireEnrollmentType(req.portalUser!, 'webauthn'); // a throw goes to the portal's error page (403)
    next();
  };
  r.get('/enroll_token/webauthn', gate, typeEnabled, gates.freshSecondFactor, async (req: Request, res: Response) => {
    await enrollment.check(req.portalUser!);
    render(req, res, { page: 'portal/actions/enroll-webauthn' }, {
      title: 'Add a security key',
      urls: { options: `${page(req)}/options`, verify: page(req), stepUp: `${req.portal!.base}step-up?next=${encodeURIComponent(page(req))}` },
    });
  });

  r.post('/enroll_token/webauthn/options', gate, jsonErrors(async (req, res) => {
    requireEnrollmentType(req.portalUser!, 'webauthn'); // before the address check: a disabled type is 403 wherever it is asked
    const { options, pending } = await enrollment.options(req.portalUser!, relyingPartyOf(req, services.config));
    await keepCeremony(req, pending);
    res.json(options);
  }));

  r.post('/enroll_token/webauthn', gate, webauthnJson, jsonErrors(async (req, res) => {
    const pending = await takeCeremony(req);
    const token = await enrollment.register(req.portalUser!, pending, req.body);
    req.session.flash = { kind: 'success', text: `Your security key "${token.name}" is added. Use it the next time you sign in.` };
    await saveSession(req);
    res.json({ redirect: req.portal!.base });
  }));

  return r;
}
