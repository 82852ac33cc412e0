/** Console sign-up, sign-in (password, then TOTP; enrolment at first sign-in), invitations, sign-out. */
import type { Request, Response } from 'express';
import QRCode from 'qrcode';
import type { Services } from '../services';
import { ValidationError, DomainError, NotFoundError } from '../lib/errors';
import { adminTotpUri, generateAdminTotpSecret } from '../admins/admin-totp';
import { flash, redirect, render } from '../web/views';

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

export function createAuthController(services: Services) {
  const { admins, config } = services;

  async function renderEnrollment(req: Request, res: Response, status = 200, error?: string) {
    const pending = req.session.pendingAdmin!;
    const secret = admins.openPendingTotp(pending.adminId, pending.sealedSecret!);
    const admin = await admins.activeAdmin(pending.tenantId, pending.adminId);
    const uri = adminTotpUri(secret, admin?.email ?? 'admin', 'MFA Console');
    const qrSvg = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    res.set('Cache-Control', 'no-store');
    render(req, res, { page: 'auth/enroll-totp' }, { qrSvg, secret: secret.replace(/(.{4})/g, '$1 ').trim(), error }, status);
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
      const result = email && password ? await admins.checkPassword(email, password) : null;
      if (!result) {
        render(req, res, { page: 'auth/sign-in' }, { next: safeNext(req.body.next), email, error: GENERIC_FAILURE, signupEnabled: config.signupEnabled }, 401);
        return;
      }
      const pendingAdmin = { adminId: result.adminId, tenantId: result.tenantId, enrolled: result.totpEnrolled, startedAt: Date.now() };
      await rotate(req, { pendingAdmin });
      if (!result.totpEnrolled) {
        req.session.pendingAdmin!.sealedSecret = admins.sealPendingTotp(result.adminId, generateAdminTotpSecret());
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
      const ok = await admins.verifyTotp(pending.tenantId, pending.adminId, String(req.body.code ?? ''), req.ip);
      if (!ok) {
        render(req, res, { page: 'auth/totp' }, { next: safeNext(req.body.next), error: 'That code is not valid. Enter the current code from your authenticator app.' }, 401);
        return;
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
      const ok = await admins.confirmTotpEnrollment(pending.tenantId, pending.adminId, pending.sealedSecret!, String(req.body.code ?? ''), req.ip);
      if (!ok) return renderEnrollment(req, res, 422, 'That code is not valid. Check the time on your phone and enter the current code.');
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
      const invite = await admins.findInvite(req.params.token as string);
      render(req, res, { page: 'auth/invite' }, { invite, token: req.params.token }, invite ? 200 : 404);
    },

    async acceptInvite(req: Request, res: Response) {
      const token = req.params.token as string;
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
