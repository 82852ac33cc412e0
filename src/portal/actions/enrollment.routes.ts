/**
 * Enroll Token (SPEC §5.3), relative to `{portal}/actions`, for totp, hotp, email, sms and
 * backup_codes (webauthn has its own routes):
 *   GET  /enroll_token                      the enabled types, what this user can use, the limit
 *   GET  /enroll_token/{type}               what the type is, and the form that starts it
 *   POST /enroll_token/{type}               start: the key as QR + text, the codes, or "code sent"
 *   GET  /enroll_token/{type}/confirm       the confirm form again (no secret on it)
 *   POST /enroll_token/{type}/confirm       a code from the new token enables it
 *   POST /enroll_token/{email|sms}/resend   a new code
 *   GET  /enroll_token/backup_codes/download  the codes as text, only while pending
 * The enrolment in progress is kept in the session (token id; backup codes sealed for the
 * download). Secrets are sent only with `Cache-Control: no-store` (SEC-03).
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import QRCode from 'qrcode';
import type { Services } from '../../services';
import { ConflictError, RateLimitedError, ValidationError } from '../../lib/errors';
import { requireEnrollmentType } from '../../portal-actions/portal-user';
import { createEnrollmentService, ENROLLABLE_TYPES, EnrollmentCodeError, TYPE_LABELS, type EnrollableType, type StartedEnrollment } from '../../portal-actions/enrollment.service';
import { redirect, render, bodyText } from '../../web/views';
import { messagePage, type createActionGate } from '../action-gate';

const CONFIRM_PAGE = { page: 'portal/actions/enroll-confirm' };
const START_PAGE = { page: 'portal/actions/enroll-start' };

const sealContext = (tokenId: string) => `portal-enrollment-codes:${tokenId}`;

export function enrollmentRoutes(services: Services, gates: ReturnType<typeof createActionGate>): Router {
  const { secrets } = services;
  const enrollment = createEnrollmentService({
    db: services.db,
    tokens: services.tokens,
    secrets,
    messages: services.messages,
    // Same keys, same derivation as the challenge service: codes sent here verify like any other.
    codes: services.challengeCodes,
  });
  const r = Router();
  const gate = gates.gate('enroll_token');
  const url = (req: Request, path = '') => `${req.portal!.base}actions/enroll_token${path}`;
  const pendingId = (req: Request, type: string) => (req.session.portal?.enrollment?.type === type ? req.session.portal.enrollment.tokenId : undefined);

  /** 403 page for a type the administrator did not enable (the service checks again). */
  const allowType = (type: EnrollableType) => (req: Request, res: Response, next: NextFunction) => {
    try {
      requireEnrollmentType(req.portalUser!, type);
    } catch (err) {
      return messagePage(req, res, 403, 'Not allowed', (err as Error).message);
    }
    next();
  };

  const startAgain = (req: Request, type: string) => ({ link: { href: url(req, `/${type}`), text: 'Start again' } });

  /** What a start form needs: the type, and the SMS warning with an app offered instead (SEC-12). */
  function startData(req: Request, type: EnrollableType) {
    const types = req.portal!.resource.enrollmentTokenTypes;
    return { type, label: TYPE_LABELS[type], appType: ['totp', 'hotp'].find((t) => types.includes(t)), chooseUrl: url(req), actionUrl: url(req, `/${type}`) };
  }

  function confirmData(req: Request, type: EnrollableType, extra: Record<string, unknown> = {}) {
    return { type, label: TYPE_LABELS[type], actionUrl: url(req, `/${type}/confirm`), resendUrl: url(req, `/${type}/resend`), downloadUrl: url(req, '/backup_codes/download'), chooseUrl: url(req), ...extra };
  }

  async function reveal(started: StartedEnrollment): Promise<Record<string, unknown>> {
    if (started.type === 'totp' || started.type === 'hotp') {
      const qrSvg = await QRCode.toString(started.otpauthUri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
      const manualKey = (new URL(started.otpauthUri).searchParams.get('secret') ?? '').replace(/(.{4})/g, '$1 ').trim();
      return { qrSvg, manualKey, uri: started.otpauthUri };
    }
    if ('backupCodes' in started) return { backupCodes: started.backupCodes };
    return { sentTo: 'sentTo' in started ? started.sentTo : undefined };
  }

  r.get('/enroll_token', ...gate, gates.freshSecondFactor, async (req, res) => {
    const options = await enrollment.options(req.portalUser!);
    const flash = req.session.flash;
    delete req.session.flash;
    render(req, res, { page: 'portal/actions/enroll-choose' }, { ...options, mustEnroll: req.portalUser!.dashboard.mustEnroll, chooseUrl: url(req), flash });
  });

  // Download before the generic per-type routes; only while the enrolment is pending.
  r.get('/enroll_token/backup_codes/download', ...gate, allowType('backup_codes'), async (req, res) => {
    const state = req.session.portal?.enrollment;
    const gone = () => messagePage(req, res, 404, 'Not available', 'Backup codes can be downloaded only while you set them up. They cannot be shown again.');
    if (state?.type !== 'backup_codes' || !state.codesSealed) return gone();
    try {
      await enrollment.pending(req.portalUser!, 'backup_codes', state.tokenId);
    } catch (err) {
      if (err instanceof ConflictError) return gone();
      throw err;
    }
    const codes = JSON.parse(secrets.decrypt(state.codesSealed, sealContext(state.tokenId)).toString('utf8')) as string[];
    const text = [`Backup codes for ${req.portal!.resource.name} (${req.portalUser!.dashboard.user.login})`, 'Each code works once. Keep them somewhere safe.', '', ...codes, ''].join('\r\n');
    res.set('Cache-Control', 'no-store');
    res.attachment('backup-codes.txt').type('text/plain; charset=utf-8').send(text);
  });

  for (const type of ENROLLABLE_TYPES) {
    const path = `/enroll_token/${type}`;

    r.get(path, ...gate, allowType(type), gates.freshSecondFactor, async (req, res) => {
      const options = await enrollment.options(req.portalUser!);
      const choice = options.choices.find((c) => c.type === type)!;
      if (options.atLimit) return messagePage(req, res, 409, 'Token limit reached', `You already have the maximum of ${options.max} token${options.max === 1 ? '' : 's'} in this portal.`);
      render(req, res, START_PAGE, { ...startData(req, type), unavailable: choice.reason, hasPending: Boolean(pendingId(req, type)), confirmUrl: url(req, `/${type}/confirm`) }, choice.reason ? 422 : 200);
    });

    r.post(path, ...gate, allowType(type), async (req, res) => {
      let started: StartedEnrollment;
      try {
        started = await enrollment.start(req.portalUser!, type, bodyText(req, 'name', 100));
      } catch (err) {
        if (err instanceof ConflictError) return messagePage(req, res, 409, 'Token limit reached', err.message);
        if (err instanceof ValidationError) return render(req, res, START_PAGE, { ...startData(req, type), errors: err.fields, error: err.message }, 422);
        if (err instanceof RateLimitedError) return messagePage(req, res, 429, 'Please wait', err.message);
        throw err;
      }
      const shown = await reveal(started);
      const codesSealed = started.type === 'backup_codes' ? secrets.encrypt(Buffer.from(JSON.stringify(started.backupCodes)), sealContext(started.token.id)) : undefined;
      req.session.portal!.enrollment = { tokenId: started.token.id, type, codesSealed };
      res.set('Cache-Control', 'no-store');
      render(req, res, CONFIRM_PAGE, confirmData(req, type, { token: started.token, reveal: shown }));
    });

    r.get(`${path}/confirm`, ...gate, allowType(type), async (req, res) => {
      try {
        const token = await enrollment.pending(req.portalUser!, type, pendingId(req, type));
        const flash = req.session.flash;
        delete req.session.flash;
        render(req, res, CONFIRM_PAGE, confirmData(req, type, { token, flash }));
      } catch (err) {
        if (err instanceof ConflictError) return messagePage(req, res, 409, 'Nothing to confirm', err.message, startAgain(req, type));
        throw err;
      }
    });

    r.post(`${path}/confirm`, ...gate, allowType(type), async (req, res) => {
      const u = req.portalUser!;
      try {
        const token = await enrollment.confirm(u, type, pendingId(req, type), bodyText(req, 'code', 100));
        delete req.session.portal!.enrollment;
        req.session.flash = { kind: 'success', text: `Your token "${token.name || token.serial}" is ready: use it the next time you sign in.` };
        redirect(req, res, req.portal!.base);
      } catch (err) {
        if (err instanceof EnrollmentCodeError && err.cancelled) {
          delete req.session.portal!.enrollment;
          return messagePage(req, res, 422, 'Enrolment cancelled', err.message, startAgain(req, type));
        }
        if (err instanceof ValidationError) {
          const token = await enrollment.pending(u, type, pendingId(req, type)).catch(() => undefined);
          return render(req, res, CONFIRM_PAGE, confirmData(req, type, { token, errors: err.fields }), 422);
        }
        if (err instanceof ConflictError) return messagePage(req, res, 409, 'Nothing to confirm', err.message, startAgain(req, type));
        throw err;
      }
    });

    if (type === 'email' || type === 'sms') {
      r.post(`${path}/resend`, ...gate, allowType(type), async (req, res) => {
        try {
          const sentTo = await enrollment.resend(req.portalUser!, type, pendingId(req, type));
          req.session.flash = { kind: 'success', text: `A new code is on its way to ${sentTo}.` };
          redirect(req, res, url(req, `/${type}/confirm`));
        } catch (err) {
          if (err instanceof RateLimitedError) {
            const token = await enrollment.pending(req.portalUser!, type, pendingId(req, type)).catch(() => undefined);
            return render(req, res, CONFIRM_PAGE, confirmData(req, type, { token, flash: { kind: 'error', text: err.message } }), 429);
          }
          if (err instanceof ConflictError) return messagePage(req, res, 409, 'Nothing to confirm', err.message, startAgain(req, type));
          throw err;
        }
      });
    }
  }

  return r;
}
