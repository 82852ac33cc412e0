/**
 * Portal sign-in pages (SPEC §5.2): login → password or emailed code → second factor → dashboard.
 * The rules live in PortalSignInService; this keeps the step in the session and renders pages.
 * Every failure of a step shows the same words (SEC-22); a partial sign-in reaches nothing but
 * its next step (SEC-18).
 */
import type { Request, Response } from 'express';
import { newCodeBinding, type PortalSignInService } from '../portal-sign-in/sign-in.service';
import { lockText, type LockState } from '../validation/lock-notices';
import { RateLimitedError } from '../lib/errors';
import { redirect, render, bodyText, takeFlash } from '../web/views';
import { rotate, signInState } from './portal-session';
import { visitorOf } from './visitor';
import { completeSignIn, signInByTrustedEnvironment } from './complete-sign-in';
import { BadRequestError, UnauthorizedError } from '../lib/errors';
import { relyingPartyOf, type RelyingPartyPolicy } from '../webauthn/relying-party';
import { jsonErrors, keepCeremony, saveSession, takeCeremony } from './actions/webauthn.routes';

export const SIGN_IN_FAILED = 'Those sign-in details are not right. Check them and try again.';
const CODE_FAILED = 'That code is not right. Enter a current code from your token, or a backup code.';
const CODE_SENT_NOTICE = 'If you have a code by email or SMS in this portal, a new code is on its way.';
export const KEY_FAILED = 'Your security key was not accepted. Try again, or enter a code.';
const SIGN_IN_EXPIRED = 'Your sign-in has expired. Reload the page and start again.';
/** Shown only to a user past the first factor (issue 15 §1), followed by lockText(). */
export const LOCKED = 'Your account is locked in this portal after too many wrong attempts.';
/** The pages' lock notice (views/portal/_locked). */
const lockedNotice = (lock: LockState) => ({ title: LOCKED, text: lockText(lock) });

/** Runs a step; a rate limit shows `page` again with the limit's message and 429. */
async function limited(req: Request, res: Response, page: string, data: Record<string, unknown>, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (err) {
    if (!(err instanceof RateLimitedError)) throw err;
    render(req, res, { page }, { ...data, error: err.message }, 429);
  }
}

/** Only paths inside this portal are followed after a step (no open redirect). */
function safeNext(req: Request, value: unknown): string {
  const base = req.portal!.base;
  return typeof value === 'string' && value.startsWith(base) && !value.includes('//') && !value.includes('\\') ? value : base;
}

export function createPortalSignInController(signIn: PortalSignInService, rpPolicy: RelyingPartyPolicy) {
  const url = (req: Request, path = '') => `${req.portal!.base}${path}`;
  /** Issue 12 §3: a user with no token in the resource lands on Enroll Token when the resource offers it. */
  const landing = (req: Request, next: string) => {
    const portal = req.portal!.resource;
    const canEnroll = next !== 'token' && portal.allowedActions.includes('enroll_token') && portal.enrollmentTokenTypes.length > 0;
    return canEnroll ? url(req, 'actions/enroll_token') : url(req);
  };

  return {
    /** Step 1, or where the visitor's sign-in currently stands. */
    loginForm(req: Request, res: Response, next: () => void) {
      const state = signInState(req);
      if (state?.stage === 'signed_in') return next();
      if (state?.stage === 'second_factor') return res.redirect(303, url(req, 'sign-in/second-factor'));
      // An invitation link carries ?login=: only a prefill, the sign-in steps stay the same.
      const invited = typeof req.query.login === 'string' ? req.query.login.trim().slice(0, 254) : '';
      render(req, res, { page: 'portal/sign-in' }, { login: state?.login ?? invited, flash: takeFlash(req) });
    },

    async login(req: Request, res: Response) {
      const login = bodyText(req, 'login', 254).trim();
      if (!login) {
        render(req, res, { page: 'portal/sign-in' }, { login, errors: { login: 'Enter your login or email address.' } }, 422);
        return;
      }
      await limited(req, res, 'portal/sign-in', { login }, async () => {
        const codeBinding = newCodeBinding();
        await signIn.start(req.portal!.resource, visitorOf(req), login, codeBinding);
        req.session.portal = { resourceId: req.portal!.resource.id, stage: 'first_factor', login, codeBinding, startedAt: Date.now() };
        redirect(req, res, url(req, 'sign-in/verify'));
      });
    },

    verifyForm(req: Request, res: Response) {
      const state = signInState(req);
      if (state?.stage !== 'first_factor') return res.redirect(303, url(req));
      render(req, res, { page: 'portal/verify' }, { login: state.login, flash: takeFlash(req) });
    },

    async verify(req: Request, res: Response) {
      const state = signInState(req);
      if (state?.stage !== 'first_factor' || !state.login || !state.codeBinding) return redirect(req, res, url(req));
      const secret = bodyText(req, 'secret', 128);
      const page = 'portal/verify';
      if (!secret) {
        render(req, res, { page }, { login: state.login, errors: { secret: 'Enter your password or the code we emailed you.' } }, 422);
        return;
      }
      await limited(req, res, page, { login: state.login }, async () => {
        const result = await signIn.verifyFirstFactor(req.portal!.resource, visitorOf(req), state.login!, secret, state.codeBinding!);
        if (!result) {
          render(req, res, { page }, { login: state.login, error: SIGN_IN_FAILED }, 401);
          return;
        }
        // Past the first factor but locked: say so and until when (issue 15 §1).
        if ('locked' in result) {
          render(req, res, { page }, { login: state.login, locked: lockedNotice(result.locked) }, 423);
          return;
        }
        const base = { resourceId: req.portal!.resource.id, userId: result.userId, startedAt: Date.now() };
        // §5.4: a browser this user trusted here may skip the second step (no secondFactorAt then).
        if (result.next === 'token' && !(await signInByTrustedEnvironment(req, result.userId))) {
          await rotate(req, { ...base, stage: 'second_factor' });
          return redirect(req, res, url(req, 'sign-in/second-factor'));
        }
        await completeSignIn(req, res, result.userId, { startedAt: base.startedAt });
        redirect(req, res, landing(req, result.next));
      });
    },

    async resend(req: Request, res: Response) {
      const state = signInState(req);
      if (state?.stage !== 'first_factor' || !state.login || !state.codeBinding) return redirect(req, res, url(req));
      await limited(req, res, 'portal/verify', { login: state.login }, async () => {
        await signIn.resendCode(req.portal!.resource, visitorOf(req), state.login!, state.codeBinding!);
        req.session.flash = { kind: 'success', text: 'If your account signs in with an emailed code, a new code is on its way. Codes can be sent once a minute.' };
        redirect(req, res, url(req, 'sign-in/verify'));
      });
    },

    async secondFactorForm(req: Request, res: Response) {
      const state = signInState(req);
      if (state?.stage !== 'second_factor') return res.redirect(303, url(req));
      const options = await signIn.secondFactorOptions(req.portal!.resource, state.userId!);
      render(req, res, { page: 'portal/second-factor' }, { ...options, flash: takeFlash(req) });
    },

    async secondFactor(req: Request, res: Response) {
      const state = signInState(req);
      if (state?.stage !== 'second_factor') return redirect(req, res, url(req));
      const portal = req.portal!.resource;
      const options = await signIn.secondFactorOptions(portal, state.userId!);
      const code = bodyText(req, 'code', 64);
      if (!code.trim()) {
        render(req, res, { page: 'portal/second-factor' }, { ...options, errors: { code: 'Enter the code from your token.' } }, 422);
        return;
      }
      await limited(req, res, 'portal/second-factor', options, async () => {
        if (!(await signIn.verifySecondFactor(portal, visitorOf(req), state.userId!, code))) {
          const lock = await signIn.lockOf(portal, state.userId!);
          if (lock) return render(req, res, { page: 'portal/second-factor' }, { ...options, locked: lockedNotice(lock) }, 423);
          render(req, res, { page: 'portal/second-factor' }, { ...options, error: CODE_FAILED }, 401);
          return;
        }
        await completeSignIn(req, res, state.userId!, { startedAt: state.startedAt, secondFactorAt: Date.now() });
        redirect(req, res, url(req));
      });
    },

    /** Step 3 with a security key, part 1 (JSON): the options for the browser; the challenge stays in the session. */
    webauthnOptions: jsonErrors(async (req: Request, res: Response) => {
      const state = signInState(req);
      if (state?.stage !== 'second_factor') throw new BadRequestError(SIGN_IN_EXPIRED);
      const started = await signIn.webauthnOptions(req.portal!.resource, state.userId!, relyingPartyOf(req, rpPolicy));
      if (!started) throw new BadRequestError('You have no security key for this portal at this address. Enter a code instead.');
      await keepCeremony(req, started.pending);
      res.json(started.options);
    }),

    /** Step 3 with a security key, part 2 (JSON): the browser's answer; on success the sign-in completes like with a code. */
    webauthnSecondFactor: jsonErrors(async (req: Request, res: Response) => {
      const state = signInState(req);
      if (state?.stage !== 'second_factor') throw new BadRequestError(SIGN_IN_EXPIRED);
      if (!req.is('application/json')) {
        // The form was posted without JavaScript: no ceremony ran, so no attempt is counted.
        req.session.flash = { kind: 'error', text: 'Security keys need JavaScript in your browser. Enter a code instead.' };
        return redirect(req, res, url(req, 'sign-in/second-factor'));
      }
      const pending = await takeCeremony(req);
      if (!(await signIn.verifySecondFactorWebauthn(req.portal!.resource, visitorOf(req), state.userId!, pending, req.body?.response))) {
        const lock = await signIn.lockOf(req.portal!.resource, state.userId!);
        throw new UnauthorizedError(lock ? `${LOCKED} ${lockText(lock)}` : KEY_FAILED);
      }
      await completeSignIn(req, res, state.userId!, { startedAt: state.startedAt, secondFactorAt: Date.now() });
      await saveSession(req);
      res.json({ redirect: url(req) });
    }),

    async sendCode(req: Request, res: Response) {
      const state = signInState(req);
      if (state?.stage !== 'second_factor') return redirect(req, res, url(req));
      const options = await signIn.secondFactorOptions(req.portal!.resource, state.userId!);
      await limited(req, res, 'portal/second-factor', options, async () => {
        await signIn.sendSecondFactorCode(req.portal!.resource, visitorOf(req), state.userId!);
        req.session.flash = { kind: 'success', text: CODE_SENT_NOTICE };
        redirect(req, res, url(req, 'sign-in/second-factor'));
      });
    },

    /** Step-up (SEC-14): a signed-in user proves a second factor again before a sensitive action. After gates.signedInUser. */
    async stepUpForm(req: Request, res: Response) {
      const options = await signIn.secondFactorOptions(req.portal!.resource, req.portalUser!.userId);
      render(req, res, { page: 'portal/step-up' }, { ...options, next: safeNext(req, req.query.next), flash: takeFlash(req) });
    },

    async stepUp(req: Request, res: Response) {
      const u = req.portalUser!;
      const next = safeNext(req, req.body?.next);
      const options = await signIn.secondFactorOptions(u.portal, u.userId);
      const code = bodyText(req, 'code', 64);
      await limited(req, res, 'portal/step-up', { ...options, next }, async () => {
        if (!code.trim() || !(await signIn.verifySecondFactor(u.portal, u.visitor, u.userId, code))) {
          const lock = await signIn.lockOf(u.portal, u.userId);
          if (lock) return render(req, res, { page: 'portal/step-up' }, { ...options, next, locked: lockedNotice(lock) }, 423);
          render(req, res, { page: 'portal/step-up' }, { ...options, next, error: CODE_FAILED }, 401);
          return;
        }
        await rotate(req, { ...req.session.portal!, secondFactorAt: Date.now() });
        redirect(req, res, next);
      });
    },

    /** Step-up with an email/SMS token: sends its code (the same throttles as at sign-in). After gates.signedInUser. */
    async stepUpSend(req: Request, res: Response) {
      const u = req.portalUser!;
      const next = safeNext(req, req.body?.next);
      const options = await signIn.secondFactorOptions(u.portal, u.userId);
      await limited(req, res, 'portal/step-up', { ...options, next }, async () => {
        await signIn.sendSecondFactorCode(u.portal, u.visitor, u.userId);
        req.session.flash = { kind: 'success', text: CODE_SENT_NOTICE };
        redirect(req, res, `${url(req, 'step-up')}?next=${encodeURIComponent(next)}`);
      });
    },

    /** Step-up with a security key, part 1 (JSON). After gates.signedInUser. */
    stepUpWebauthnOptions: jsonErrors(async (req: Request, res: Response) => {
      const u = req.portalUser!;
      const started = await signIn.webauthnOptions(u.portal, u.userId, relyingPartyOf(req, rpPolicy));
      if (!started) throw new BadRequestError('You have no security key for this portal at this address. Enter a code instead.');
      await keepCeremony(req, started.pending);
      res.json(started.options);
    }),

    /** Step-up with a security key, part 2 (JSON): the same check as at sign-in, then back to `next`. */
    stepUpWebauthn: jsonErrors(async (req: Request, res: Response) => {
      const u = req.portalUser!;
      const pending = await takeCeremony(req);
      if (!(await signIn.verifySecondFactorWebauthn(u.portal, u.visitor, u.userId, pending, req.body?.response))) throw new UnauthorizedError(KEY_FAILED);
      await rotate(req, { ...req.session.portal!, secondFactorAt: Date.now() });
      await saveSession(req);
      res.json({ redirect: safeNext(req, req.query.next) });
    }),

    /** Cancels a sign-in in progress, or signs out: the server-side session is deleted (a fresh one carries the notice). */
    async signOut(req: Request, res: Response) {
      const state = signInState(req);
      const signedIn = state?.stage === 'signed_in' && state.userId;
      if (signedIn) await signIn.recordSignOut(req.portal!.resource, visitorOf(req), state.userId!);
      await rotate(req, undefined);
      if (signedIn) req.session.flash = { kind: 'success', text: 'You have signed out.' };
      redirect(req, res, url(req));
    },
  };
}
