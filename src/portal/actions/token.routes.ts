/**
 * Portal token actions (SPEC §5.3), relative to `{portal}/actions`: unassign, synchronise,
 * configure the PIN, assign an existing token (own or claimed from stock) and reissue. The gate
 * answers 403 for a disabled action, and sends GETs of sensitive pages through the step-up page;
 * the rules themselves live in TokenActionsService. A refused input re-renders its page (422,
 * 409 or 429) with the message; success goes back to the dashboard with a flash.
 */
import { Router, type Request, type Response } from 'express';
import QRCode from 'qrcode';
import type { Services } from '../../services';
import { ConflictError, RateLimitedError, ValidationError, type FieldErrors } from '../../lib/errors';
import { createTokenActionsService, PENDING_SEED_MS, PIN_TYPES, REISSUE_TYPES } from '../../portal-actions/token-actions.service';
import { OATH_TYPES } from '../../tokens/token.types';
import { findResource } from '../../resources/resource.repository';
import { redirect, render, bodyText, takeFlash } from '../../web/views';
import type { createActionGate } from '../action-gate';

type Gates = ReturnType<typeof createActionGate>;
type PageData = { errors?: FieldErrors; error?: string; selected?: string; values?: Record<string, string> };

const FIELDS_NEED_ATTENTION = 'Some fields need attention.';

export function tokenActionRoutes(services: Services, gates: Gates): Router {
  const { db } = services;
  const actions = createTokenActionsService({ db, secrets: services.secrets, messages: services.messages, tokens: services.tokens, limiter: services.limiter });
  const r = Router();
  const user = (req: Request) => req.portalUser!;
  const tokensHere = (req: Request) => user(req).dashboard.tokens;

  /** Each page: its view and the data it lists, for the GET and for a refused POST. */
  const pages: Record<string, { view: string; data: (req: Request) => Promise<Record<string, unknown>> }> = {
    unassign: { view: 'portal/actions/token-unassign', data: async (req) => ({ tokens: tokensHere(req) }) },
    sync: { view: 'portal/actions/token-sync', data: async (req) => ({ tokens: tokensHere(req).filter((t) => t.enabled && OATH_TYPES.includes(t.type)) }) },
    pin: {
      view: 'portal/actions/token-pin',
      data: async (req) => {
        const resource = await findResource(db, req.portal!.resource.tenantId, req.portal!.resource.id);
        return { tokens: tokensHere(req).filter((t) => t.enabled && PIN_TYPES.includes(t.type)), pinPosition: resource?.pinPosition ?? 'before' };
      },
    },
    assign: { view: 'portal/actions/token-assign', data: async (req) => ({ own: await actions.assignable(user(req)) }) },
    reissue: {
      view: 'portal/actions/token-reissue',
      data: async (req) => ({ tokens: tokensHere(req).filter((t) => t.enabled && REISSUE_TYPES.includes(t.type)), pending: await actions.pendingReissues(user(req)) }),
    },
  };

  async function show(req: Request, res: Response, page: keyof typeof pages, extra: PageData = {}, status = 200): Promise<void> {
    const { view, data } = pages[page];
    render(req, res, { page: view }, { ...(await data(req)), flash: status === 200 ? takeFlash(req) : undefined, errors: {}, ...extra }, status);
  }

  /** Runs a change; a refused input shows the page again with the message, success returns to the dashboard. */
  function post(page: keyof typeof pages, change: (req: Request) => Promise<string>, values: (req: Request) => Record<string, string> = () => ({})) {
    return async (req: Request, res: Response) => {
      try {
        const done = await change(req);
        req.session.flash = { kind: 'success', text: done };
        redirect(req, res, req.portal!.base);
      } catch (err) {
        if (!(err instanceof ValidationError || err instanceof ConflictError || err instanceof RateLimitedError)) throw err;
        const errors = err instanceof RateLimitedError ? {} : err.fields;
        const error = err.message === FIELDS_NEED_ATTENTION ? (errors.tokenId ?? err.message) : err.message;
        await show(req, res, page, { errors, error, selected: bodyText(req, 'tokenId', 64) || undefined, values: values(req) }, err.status);
      }
    };
  }

  const name = (t: { name: string; serial: string }) => t.name || t.serial;

  // Unassign Token (step-up).
  r.get('/unassign_token', ...gates.gate('unassign_token'), gates.freshSecondFactor, (req, res) => show(req, res, 'unassign'));
  r.post('/unassign_token', ...gates.gate('unassign_token'), post('unassign', async (req) => `${name(await actions.unassign(user(req), bodyText(req, 'tokenId', 200)))} was removed from this portal.`));

  // Token Synchronization.
  r.get('/sync_token', ...gates.gate('sync_token'), (req, res) => show(req, res, 'sync'));
  r.post('/sync_token', ...gates.gate('sync_token'), post('sync', async (req) => `${name(await actions.sync(user(req), bodyText(req, 'tokenId', 200), bodyText(req, 'code1', 20), bodyText(req, 'code2', 20)))} is synchronised.`));

  // Configure PIN (step-up).
  r.get('/configure_pin', ...gates.gate('configure_pin'), gates.freshSecondFactor, (req, res) => show(req, res, 'pin'));
  r.post('/configure_pin', ...gates.gate('configure_pin'), post('pin', async (req) => {
    const token = await actions.setPin(user(req), bodyText(req, 'tokenId', 200), { pin: bodyText(req, 'pin', 64), pinConfirm: bodyText(req, 'pinConfirm', 64) });
    return `The PIN of ${name(token)} is saved. Type it together with the code from now on.`;
  }));
  r.post('/configure_pin/remove', ...gates.gate('configure_pin'), post('pin', async (req) => `The PIN of ${name(await actions.removePin(user(req), bodyText(req, 'tokenId', 200)))} was removed.`));

  // Assign Existing Token (step-up when the user has a token here).
  r.get('/assign_token', ...gates.gate('assign_token'), gates.freshSecondFactor, (req, res) => show(req, res, 'assign'));
  r.post('/assign_token', ...gates.gate('assign_token'), post('assign', async (req) => `${name(await actions.assignOwn(user(req), bodyText(req, 'tokenId', 200)))} now works in this portal.`));
  r.post('/assign_token/claim', ...gates.gate('assign_token'), post(
    'assign',
    async (req) => `${name(await actions.claimHardware(user(req), bodyText(req, 'serial', 100), bodyText(req, 'code', 20)))} is now yours and works in this portal.`,
    (req) => ({ serial: bodyText(req, 'serial', 100) }),
  ));

  // Reissue Token (step-up): the new key is shown on the POST's own response, once.
  r.get('/reissue_token', ...gates.gate('reissue_token'), gates.freshSecondFactor, (req, res) => show(req, res, 'reissue'));
  r.post('/reissue_token', ...gates.gate('reissue_token'), async (req, res) => {
    try {
      const { token, uri, manualKey } = await actions.startReissue(user(req), bodyText(req, 'tokenId', 200));
      const qrSvg = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
      res.set('Cache-Control', 'no-store');
      render(req, res, { page: 'portal/actions/token-reissue-key' }, { token, qrSvg, manualKey, minutes: PENDING_SEED_MS / 60_000 });
    } catch (err) {
      if (!(err instanceof ValidationError || err instanceof ConflictError)) throw err;
      await show(req, res, 'reissue', { errors: err.fields, error: err.fields.tokenId ?? err.message }, err.status);
    }
  });
  r.post('/reissue_token/confirm', ...gates.gate('reissue_token'), post('reissue', async (req) => `${name(await actions.confirmReissue(user(req), bodyText(req, 'tokenId', 200), bodyText(req, 'code', 20)))} now uses its new key; the old one no longer works.`));

  return r;
}
