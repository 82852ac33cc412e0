/**
 * Console sign-in (issue 11, SEC-07, SEC-17, SEC-22): the password step, then the TOTP step (or
 * the TOTP enrolment at first sign-in), with limits that every web process shares (PostgreSQL):
 *
 * - The password step counts every attempt per IP and per typed email, known or not, before
 *   anything is checked, so concurrent guesses cannot slip past together; past either limit the
 *   answer is "too many attempts" for everybody. The first refusal of a known account locks it
 *   for the rest of the window and emails its owner.
 * - The second step reserves an attempt on the admin's row before the code is checked; the
 *   attempt that reaches the limit locks the account. The caller then ends the half-signed-in
 *   session: the admin starts again once the lock has run out or an owner has lifted it.
 * - Unknown and known emails look the same: the same answers, one argon2 verification each, and
 *   the step padded to a fixed minimum so an audit write for known accounts does not show.
 * - Every refusal and lock of a known account is an audit event; unknown emails have no tenant
 *   to audit in and are logged instead (without the typed email).
 */
import type { Db } from '../db/knex';
import type { Logger } from '../lib/logger';
import type { SecretBox } from '../lib/secret-box';
import { verifyPassword } from '../lib/passwords';
import { withMinimumDuration } from '../lib/timing';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import type { MessageService } from '../outbox/message.service';
import type { Limit, RateLimiter } from '../rate-limits/rate-limiter';
import * as repo from './admin.repository';
import { matchAdminTotp } from './admin-totp';
import { requireOwner } from './permissions';
import type { Admin } from './admin.types';
import { NotFoundError } from '../lib/errors';

export interface ConsoleSignInPolicy {
  /** Password-step attempts from one IP address. */
  perIp: Limit;
  /** Password-step attempts for one typed email, whether or not an account has it. */
  perAccount: Limit;
  /** Wrong second-step codes in a row before the account is locked, and for how long. */
  codeAttempts: number;
  lockMinutes: number;
  /** The password step takes at least this long (SEC-22; above an argon2 verification plus an audit write). */
  passwordStepMs: number;
}

export const DEFAULT_CONSOLE_SIGN_IN_POLICY: ConsoleSignInPolicy = {
  perIp: { name: 'console-ip', max: 100, windowSeconds: 900 },
  perAccount: { name: 'console-login', max: 10, windowSeconds: 900 },
  codeAttempts: 5,
  lockMinutes: 15,
  passwordStepMs: 150,
};

export interface Visitor {
  ip?: string;
  userAgent?: string;
}

export type PasswordStepResult =
  | { ok: true; adminId: string; tenantId: string; totpEnrolled: boolean }
  | { ok: false; reason: 'invalid' | 'rate_limited' };

export type SecondStepResult = { ok: true } | { ok: false; locked: boolean; attemptsLeft: number };

export type AdminSignInService = ReturnType<typeof createAdminSignInService>;

export function createAdminSignInService(db: Db, deps: { secrets: SecretBox; messages: MessageService; limiter: RateLimiter; log: Logger }, policy: ConsoleSignInPolicy = DEFAULT_CONSOLE_SIGN_IN_POLICY) {
  const { secrets, messages, limiter, log } = deps;
  const totpContext = (adminId: string) => `admin-totp:${adminId}`;
  const normalised = (email: string) => email.trim().toLowerCase();

  const actorOf = (tenantId: string, adminId: string, visitor: Visitor): Actor => ({ tenantId, type: 'admin', id: adminId, ip: visitor.ip, userAgent: visitor.userAgent });

  function refuse(tenantId: string, adminId: string, visitor: Visitor, step: string, reason: string): Promise<void> {
    return recordAudit(db, actorOf(tenantId, adminId, visitor), { action: 'admin.sign_in', targetType: 'admin', targetId: adminId, result: 'failure', details: { step, reason } });
  }

  /**
   * Locks the account (when `until` is given: at least until then), audits it and emails the
   * account's owner. Returns false, doing nothing, when a concurrent right code has already
   * lifted the lock that this attempt's reservation set.
   */
  async function announceLock(tenantId: string, adminId: string, visitor: Visitor, reason: 'wrong_passwords' | 'wrong_codes', until?: Date): Promise<boolean> {
    const dispatch = await db.transaction(async (trx) => {
      if (until) await repo.lockUntil(trx, tenantId, adminId, until);
      const admin = await repo.findAdmin(trx, tenantId, adminId);
      if (!admin?.lockedUntil) return undefined;
      await recordAudit(trx, actorOf(tenantId, adminId, visitor), { action: 'admin.lock', targetType: 'admin', targetId: adminId, result: 'failure', details: { reason, lockedUntil: admin.lockedUntil } });
      const cause = reason === 'wrong_codes' ? `${policy.codeAttempts} wrong authenticator codes were entered after your correct password` : 'too many wrong passwords were entered';
      const advice = reason === 'wrong_codes'
        ? 'If this was not you, someone knows your password: ask an owner to help you change it.'
        : 'If this was not you, someone is guessing your password; the lock keeps them out.';
      const { dispatch } = await messages.prepare(trx, tenantId, {
        recipient: admin.email,
        subject: 'Your MFA console account is locked',
        bodyText: [
          `Your MFA console account was locked because ${cause}${visitor.ip ? ` (from the IP address ${visitor.ip})` : ''}.`,
          `It unlocks by itself at ${admin.lockedUntil.toISOString().replace('T', ' ').slice(0, 16)} UTC, or an owner can unlock it now on the console's Admins page.`,
          '',
          advice,
        ].join('\n'),
      });
      return dispatch;
    });
    await dispatch?.();
    return Boolean(dispatch);
  }

  /**
   * The second step's shared rule: reserve an attempt, check the code with `check`, then clear the
   * count on success or announce the lock when this attempt reached the limit.
   */
  async function secondStep(tenantId: string, adminId: string, visitor: Visitor, step: 'totp' | 'totp_enrollment', check: (creds: repo.AdminCredentials) => Promise<boolean>): Promise<SecondStepResult> {
    const creds = await repo.findCredentialsById(db, tenantId, adminId);
    if (!creds || creds.disabled_at || creds.tenant_disabled_at) {
      if (creds) await refuse(tenantId, adminId, visitor, step, 'disabled');
      return { ok: false, locked: true, attemptsLeft: 0 };
    }
    const attempt = await repo.reserveSecondStepAttempt(db, tenantId, adminId, policy.codeAttempts, policy.lockMinutes);
    if (attempt === undefined) {
      await refuse(tenantId, adminId, visitor, step, 'locked');
      return { ok: false, locked: true, attemptsLeft: 0 };
    }
    if (await check(creds)) {
      await repo.clearSecondStepFailures(db, tenantId, adminId);
      return { ok: true };
    }
    await refuse(tenantId, adminId, visitor, step, 'wrong_code');
    if (attempt >= policy.codeAttempts && (await announceLock(tenantId, adminId, visitor, 'wrong_codes'))) {
      return { ok: false, locked: true, attemptsLeft: 0 };
    }
    return { ok: false, locked: false, attemptsLeft: Math.max(1, policy.codeAttempts - attempt) };
  }

  return {
    policy,

    /**
     * First step. Answers `rate_limited` past a limit and `invalid` for anything else that is not
     * a right password of an active, unlocked account, the same for unknown emails.
     */
    passwordStep(email: string, password: string, visitor: Visitor): Promise<PasswordStepResult> {
      return withMinimumDuration(policy.passwordStepMs, async (): Promise<PasswordStepResult> => {
        const typed = normalised(email);
        const [byIp, byAccount] = await limiter.count([
          { limit: policy.perIp, subject: visitor.ip ?? 'unknown' },
          { limit: policy.perAccount, subject: typed },
        ]);
        const creds = typed ? await repo.findCredentialsByEmail(db, typed) : undefined;
        if (byIp.hits > policy.perIp.max || byAccount.hits > policy.perAccount.max) {
          if (!creds) {
            log.warn({ ip: visitor.ip, step: 'password', reason: 'rate_limited' }, 'console sign-in refused for an unknown email');
          } else {
            await refuse(creds.tenant_id, creds.id, visitor, 'password', 'rate_limited');
            // The account's own limit tripping for the first time is the moment to lock and tell its owner.
            if (byAccount.hits === policy.perAccount.max + 1) {
              await announceLock(creds.tenant_id, creds.id, visitor, 'wrong_passwords', new Date(Date.now() + byAccount.resetsInSeconds * 1000));
            }
          }
          return { ok: false, reason: 'rate_limited' };
        }
        const passwordOk = await verifyPassword(creds?.password_hash, password);
        if (!creds) {
          log.info({ ip: visitor.ip, step: 'password', reason: 'unknown_email' }, 'console sign-in refused');
          return { ok: false, reason: 'invalid' };
        }
        const reason = !passwordOk ? 'wrong_password'
          : creds.disabled_at || creds.tenant_disabled_at ? 'disabled'
          : creds.locked_until && creds.locked_until.getTime() > Date.now() ? 'locked'
          : undefined;
        if (reason) {
          await refuse(creds.tenant_id, creds.id, visitor, 'password', reason);
          return { ok: false, reason: 'invalid' };
        }
        return { ok: true, adminId: creds.id, tenantId: creds.tenant_id, totpEnrolled: Boolean(creds.totp_secret_sealed) };
      });
    },

    /**
     * Invitation links count toward the same per-IP limit as the password step: the links are
     * unguessable, and the limit keeps anyone from trying. Throws RateLimitedError past it.
     */
    async throttleInvitation(visitor: Visitor): Promise<void> {
      await limiter.consume([{ limit: policy.perIp, subject: visitor.ip ?? 'unknown' }]);
    },

    /** Seals a freshly generated TOTP secret for the pending session (never stored in plain text). */
    sealPendingTotp(adminId: string, secret: string): string {
      return secrets.encrypt(Buffer.from(secret), totpContext(adminId));
    },

    openPendingTotp(adminId: string, sealed: string): string {
      return secrets.decrypt(sealed, totpContext(adminId)).toString();
    },

    /** Second step: a TOTP code, each time step accepted once (atomic compare-and-set, SEC-05). */
    async verifyTotp(tenantId: string, adminId: string, code: string, visitor: Visitor = {}): Promise<SecondStepResult> {
      const result = await secondStep(tenantId, adminId, visitor, 'totp', async (creds) => {
        if (!creds.totp_secret_sealed) return false;
        const step = matchAdminTotp(this.openPendingTotp(adminId, creds.totp_secret_sealed), code.trim());
        return step !== null && (await repo.claimTotpStep(db, tenantId, adminId, step));
      });
      if (result.ok) await recordAudit(db, actorOf(tenantId, adminId, visitor), { action: 'admin.sign_in', targetType: 'admin', targetId: adminId });
      return result;
    },

    /** Completes TOTP enrolment at first sign-in once the admin proves the secret with a valid code. */
    async confirmTotpEnrollment(tenantId: string, adminId: string, sealedSecret: string, code: string, visitor: Visitor = {}): Promise<SecondStepResult> {
      return secondStep(tenantId, adminId, visitor, 'totp_enrollment', async () => {
        const step = matchAdminTotp(this.openPendingTotp(adminId, sealedSecret), code.trim());
        if (step === null) return false;
        return db.transaction(async (trx) => {
          if (!(await repo.saveFirstTotpSecret(trx, tenantId, adminId, sealedSecret, step))) return false;
          await recordAudit(trx, actorOf(tenantId, adminId, visitor), { action: 'admin.totp.enroll', targetType: 'admin', targetId: adminId });
          return true;
        });
      });
    },

    /** An owner lifts a lock before it runs out: the second-step count and the email's password-step count start again. */
    async unlock(actor: Actor, adminId: string): Promise<Admin> {
      requireOwner(actor);
      const admin = await repo.findAdmin(db, actor.tenantId, adminId);
      if (!admin) throw new NotFoundError('Admin');
      await db.transaction(async (trx) => {
        await repo.unlock(trx, actor.tenantId, adminId);
        await recordAudit(trx, actor, { action: 'admin.unlock', targetType: 'admin', targetId: adminId, details: { email: admin.email } });
      });
      await limiter.reset(policy.perAccount, normalised(admin.email));
      return admin;
    },
  };
}
