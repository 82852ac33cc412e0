/** Console sign-up, sign-in (password, then TOTP; enrolment at first sign-in), invitations, sign-out. */
import type { Request, Response } from 'express';
import QRCode from 'qrcode';
import type { Services } from '../services';
import { ValidationError, DomainError, NotFoundError } from '../lib/errors';
import { adminTotpUri, generateAdminTotpSecret } from '../admins/admin-totp';
import { flash, redirect, render } from '../web/views';
import { TOO_MANY_ATTEMPTS } from '../rate-limits/rate-limiter';

const PENDING_MAX_MS = 10 * 60_000;
const GENERIC_FAILURE = 'The email or password is not correct.';

/** Only same-site relative paths are followed after sign-in (no open redirect). */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/admin(\/[\w\-/?=&%.]*)?$/.test(value) ? value : '/admin';
}

/** Rotates the session id (SEC-17) keeping nothing from before but what we pass on. */
function rotate(req: Request, keep: Partial<Request['session']>): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.regenerate((err) => {
      if (err) return reject(err);
      Object.assign(req.session, { createdAt: Date.now() }, keep);
      resolve();
    });
  });
}

const visitorOf = (req: Request) => ({ ip: req.ip, userAgent: req.get('user-agent') });

export function createAuthController(services: Services) {
  const { admins, adminSignIn, config } = services;

  async function renderEnrollment(req: Request, res: Response, status = 200, error?: string) {
    const pending = req.session.pendingAdmin!;
    const secret = adminSignIn.openPendingTotp(pending.adminId, pending.sealedSecret!);
    const admin = await admins.activeAdmin(pending.tenantId, pending.adminId);
    const uri = adminTotpUri(secret, admin?.email ?? 'admin', 'MFA Console');
    const qrSvg = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    res.set('Cache-Control', 'no-store');
    render(req, res, { page: 'auth/enroll-totp' }, { qrSvg, secret: secret.replace(/(.{4})/g, '$1 ').trim(), error }, status);
  }

  /**
   * A wrong code at the second step: the form again with the tries left, or, once the account is
   * locked, the half-signed-in session ends and the admin starts again from the password.
   */
  function refuseCode(req: Request, res: Response, result: { locked: boolean; attemptsLeft: number }, again: (message: string) => unknown) {
    if (result.locked) {
      delete req.session.pendingAdmin;
      flash(req, 'error', `Too many wrong codes. For your security this sign-in was stopped and the account is locked for ${adminSignIn.policy.lockMinutes} minutes. We sent an email about it to the account's address; an owner can unlock it sooner.`);
      return redirect(req, res, '/admin/sign-in');
    }
    const left = result.attemptsLeft === 1 ? '1 try is left' : `${result.attemptsLeft} tries are left`;
    return again(`That code is not valid. Enter the current code from your authenticator app (${left} before the account is locked).`);
  }

  function pendingOrRestart(req: Request, res: Response): boolean {
    const pending = req.session.pendingAdmin;
    if (!pending || Date.now() - pending.startedAt > PENDING_MAX_MS) {
      delete req.session.pendingAdmin;
      flash(req, 'error', 'Please sign in again.');
      redirect(req, res, '/admin/sign-in');
      return false;
    }
    return true;
  }

  return {
    signInForm(req: Request, res: Response) {
      if (req.session.adminId) return res.redirect(303, '/admin');
      const flashMessage = req.session.flash;
      delete req.session.flash;
      render(req, res, { page: 'auth/sign-in' }, { next: safeNext(req.query.next), email: '', flash: flashMessage, signupEnabled: config.signupEnabled });
    },

    async signIn(req: Request, res: Response) {
      const email = String(req.body.email ?? '');
      const password = String(req.body.password ?? '');
      const result = email && password ? await adminSignIn.passwordStep(email, password, visitorOf(req)) : ({ ok: false, reason: 'invalid' } as const);
      if (!result.ok) {
        const [status, error] = result.reason === 'rate_limited' ? [429, TOO_MANY_ATTEMPTS] : [401, GENERIC_FAILURE];
        render(req, res, { page: 'auth/sign-in' }, { next: safeNext(req.body.next), email, error, signupEnabled: config.signupEnabled }, status);
        return;
      }
      const pendingAdmin = { adminId: result.adminId, tenantId: result.tenantId, enrolled: result.totpEnrolled, startedAt: Date.now() };
      await rotate(req, { pendingAdmin });
      if (!result.totpEnrolled) {
        req.session.pendingAdmin!.sealedSecret = adminSignIn.sealPendingTotp(result.adminId, generateAdminTotpSecret());
        return redirect(req, res, `/admin/sign-in/enroll?next=${encodeURIComponent(safeNext(req.body.next))}`);
      }
      redirect(req, res, `/admin/sign-in/totp?next=${encodeURIComponent(safeNext(req.body.next))}`);
    },

    totpForm(req: Request, res: Response) {
      if (!pendingOrRestart(req, res)) return;
      if (!req.session.pendingAdmin!.enrolled) return res.redirect(303, '/admin/sign-in/enroll');
      render(req, res, { page: 'auth/totp' }, { next: safeNext(req.query.next) });
    },

    async totp(req: Request, res: Response) {
      if (!pendingOrRestart(req, res)) return;
      const pending = req.session.pendingAdmin!;
      const result = await adminSignIn.verifyTotp(pending.tenantId, pending.adminId, String(req.body.code ?? ''), visitorOf(req));
      if (!result.ok) {
        return refuseCode(req, res, result, (error) => render(req, res, { page: 'auth/totp' }, { next: safeNext(req.body.next), error }, 401));
      }
      await rotate(req, { adminId: pending.adminId, tenantId: pending.tenantId });
      redirect(req, res, safeNext(req.body.next));
    },

    async enrollForm(req: Request, res: Response) {
      if (!pendingOrRestart(req, res)) return;
      if (req.session.pendingAdmin!.enrolled) return res.redirect(303, '/admin/sign-in/totp');
      await renderEnrollment(req, res);
    },

    async enroll(req: Request, res: Response) {
      if (!pendingOrRestart(req, res)) return;
      const pending = req.session.pendingAdmin!;
      const result = await adminSignIn.confirmTotpEnrollment(pending.tenantId, pending.adminId, pending.sealedSecret!, String(req.body.code ?? ''), visitorOf(req));
      if (!result.ok) return refuseCode(req, res, result, (error) => renderEnrollment(req, res, 422, `${error} Check the time on your phone.`));
      await rotate(req, { adminId: pending.adminId, tenantId: pending.tenantId, flash: { kind: 'success', text: 'Your authenticator app is set up. Use it each time you sign in.' } });
      redirect(req, res, safeNext(req.body.next ?? req.query.next));
    },

    signOut(req: Request, res: Response) {
      req.session.destroy(() => {
        res.clearCookie(config.isProduction ? '__Host-mfa.sid' : 'mfa.sid');
        redirect(req, res, '/admin/sign-in');
      });
    },

    signUpForm(req: Request, res: Response) {
      if (!config.signupEnabled) throw new NotFoundError('Page');
      render(req, res, { page: 'auth/sign-up' }, { values: {} });
    },

    async signUp(req: Request, res: Response) {
      if (!config.signupEnabled) throw new NotFoundError('Page');
      const values = { organisation: req.body.organisation, email: req.body.email };
      try {
        await admins.createTenant({ organisation: req.body.organisation, email: req.body.email, password: req.body.password }, { ip: req.ip });
      } catch (err) {
        if (err instanceof ValidationError || (err instanceof DomainError && 'fields' in err)) {
          render(req, res, { page: 'auth/sign-up' }, { values, errors: (err as ValidationError).fields, error: err.message }, err.status);
          return;
        }
        throw err;
      }
      flash(req, 'success', 'Your organisation is ready. Sign in to set up your authenticator app.');
      redirect(req, res, '/admin/sign-in');
    },

    async inviteForm(req: Request, res: Response) {
      await adminSignIn.throttleInvitation(visitorOf(req));
      const invite = await admins.findInvite(req.params.token as string);
      render(req, res, { page: 'auth/invite' }, { invite, token: req.params.token }, invite ? 200 : 404);
    },

    async acceptInvite(req: Request, res: Response) {
      const token = req.params.token as string;
      await adminSignIn.throttleInvitation(visitorOf(req));
      try {
        await admins.acceptInvite(token, String(req.body.password ?? ''), req.body.name);
      } catch (err) {
        if (err instanceof ValidationError) {
          const invite = await admins.findInvite(token);
          render(req, res, { page: 'auth/invite' }, { invite, token, errors: err.fields }, 422);
          return;
        }
        throw err;
      }
      flash(req, 'success', 'Your password is set. Sign in to set up your authenticator app.');
      redirect(req, res, '/admin/sign-in');
    },
  };
}
