/**
 * Portal sign-in (SPEC §5.2, SEC-08, SEC-10, SEC-11, SEC-22): a login, then the first factor (the
 * password, or an emailed 6-digit code for users without one), then the second factor when the
 * user has a token in the resource. The web layer keeps the state between steps in the session;
 * this service decides each step and never tells apart why a step failed:
 *
 * - `start` answers nothing either way; it emails a code when the login belongs to an assigned,
 *   signable user without a password (so every login leads to the same next page).
 * - `verifyFirstFactor` spends one argon2 verification on every call (a real one for password
 *   users, a throwaway one otherwise), so unknown, unassigned, blocked, locked, wrong password
 *   and wrong code take about the same time and give the same `null`.
 * - `verifySecondFactor` is the validation API's check (lock, replay, PIN, audit) for this user.
 *
 * Every step counts one hit per IP and per typed login in the shared rate limits, and every
 * attempt of a known user counts toward the resource's lock (SPEC §3), like the API does.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db/knex';
import { verifyPassword } from '../lib/passwords';
import { waitUntilElapsed, withMinimumDuration } from '../lib/timing';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import type { MessageService } from '../outbox/message.service';
import { findResource } from '../resources/resource.repository';
import { listUserTokensInResource, tokensForCheck } from '../tokens/token.repository';
import type { Token } from '../tokens/token.types';
import type { ChallengeCodes } from '../validation/challenge-codes';
import type { AuthenticateService } from '../validation/authenticate.service';
import { loginSchema } from '../validation/authenticate.service';
import type { ChallengeService } from '../validation/challenge.service';
import { NO_MEMBER, recordFailure, recordSuccess, reserveAttempt } from '../validation/lockout.repository';
import type { LockNotices, LockState } from '../validation/lock-notices';
import type { Limit, RateLimiter } from '../rate-limits/rate-limiter';
import type { PortalResource } from '../selfservice/self-service.repository';
import type { User } from '../users/user.types';
import * as repo from './sign-in.repository';
import { authenticationOptions, checkAssertion } from '../webauthn/webauthn-assertion';
import type { PendingCeremony, RelyingParty } from '../webauthn/webauthn.types';

export interface SignInPolicy {
  /** Emailed sign-in code: lifetime, guesses, and at most one new code per this many seconds. */
  codeTtlSeconds: number;
  codeAttempts: number;
  resendSeconds: number;
  perIp: Limit;
  perLogin: Limit;
}

/** The login step takes at least this long, whether or not a code was sent (see lib/timing.ts). */
export const CODE_SEND_PADDING_MS = 120;

/**
 * A refused first factor is answered no sooner than this (SEC-22). Every failure kind runs the
 * same statements, but for a wrong password the reservation really writes a row (one more commit
 * to flush), which showed as a few ms under load (test/integration/sec-timing.test.ts). The usual
 * work is 20-60 ms here (argon2 dominates), so this hides it with room for a loaded machine.
 */
export const FIRST_FACTOR_FAILURE_MS = 200;

export const DEFAULT_SIGN_IN_POLICY: SignInPolicy = {
  codeTtlSeconds: 600,
  codeAttempts: 5,
  resendSeconds: 60,
  perIp: { name: 'portal-ip', max: 60, windowSeconds: 600 },
  perLogin: { name: 'portal-login', max: 12, windowSeconds: 600 },
};

/** Who is at the portal: the tenant comes from the resolved portal, never from input. */
export interface Visitor {
  ip?: string;
  userAgent?: string;
}

export type FirstFactorResult =
  | null
  | {
      userId: string;
      /** `token`: a second step is due; `enroll`: the resource requires a factor the user lacks; `none`: signed in. */
      next: 'token' | 'enroll' | 'none';
    }
  /** The first factor was right but the user is locked here: they may be told so (issue 15 §1). */
  | { locked: LockState };

export interface PortalDashboard {
  user: User;
  tokens: Token[];
  mustEnroll: boolean;
}

const CHALLENGE_TYPES = new Set(['email', 'sms']);


export type PortalSignInService = ReturnType<typeof createPortalSignInService>;

/**
 * An emailed code works only in the sign-ins it serves (SEC-10): the caller keeps a random binding
 * in the sign-in's session, the code row keeps its digest; a sign-in of the same user started
 * while the code is open shares it (issue 15 §2, docs/decisions.md).
 */
export function newCodeBinding(): string {
  return randomBytes(16).toString('base64url');
}
const bindingHash = (binding: string) => createHash('sha256').update(binding).digest('hex');

export function createPortalSignInService(
  db: Db,
  deps: { messages: MessageService; codes: ChallengeCodes; validation: AuthenticateService; challenges: ChallengeService; limiter: RateLimiter; lockNotices: LockNotices },
  policy: SignInPolicy = DEFAULT_SIGN_IN_POLICY,
) {
  const { messages, codes, validation, challenges, limiter } = deps;
  const { lockNotices } = deps;
  const minutes = Math.round(policy.codeTtlSeconds / 60);

  const actorFor = (portal: PortalResource, visitor: Visitor, member?: { id: string; login?: string }, typed?: string): Actor => ({
    tenantId: portal.tenantId,
    type: 'user',
    id: member?.id,
    label: member?.login ?? typed,
    ip: visitor.ip,
    userAgent: visitor.userAgent,
  });

  /** Counts this step against the per-IP and per-login limits; throws RateLimitedError when over. */
  async function throttle(portal: PortalResource, visitor: Visitor, login: string): Promise<void> {
    await limiter.consume([
      { limit: policy.perIp, subject: `${portal.id}:${visitor.ip ?? 'unknown'}` },
      { limit: policy.perLogin, subject: `${portal.id}:${login.toLowerCase()}` },
    ]);
  }

  /**
   * The member who may start signing in (assigned, not blocked, with a password or an email), or
   * why not — for the audit log only; the visitor sees the same either way.
   */
  async function signableMember(portal: PortalResource, login: string): Promise<{ member?: repo.PortalMember; refusal?: string }> {
    const parsed = loginSchema.safeParse(login);
    if (!parsed.success) return { refusal: 'malformed_login' };
    const member = await repo.findMemberByLogin(db, portal.tenantId, portal.id, parsed.data);
    if (!member) return { refusal: 'unknown_or_unassigned_user' };
    if (member.blocked) return { refusal: 'blocked' };
    if (!member.passwordHash && !member.email) return { refusal: 'no_password_or_email' };
    return { member };
  }

  /** Emails a fresh sign-in code unless one went out within the resend interval. Returns whether one was sent. */
  async function sendCode(portal: PortalResource, visitor: Visitor, member: repo.PortalMember & { email: string }, binding: string): Promise<boolean> {
    const dispatch = await db.transaction(async (trx) => {
      // Serialise this user's sends so the resend throttle holds under concurrent requests.
      await trx.raw('SELECT 1 FROM users WHERE tenant_id = ? AND id = ? FOR NO KEY UPDATE', [portal.tenantId, member.id]);
      if (await repo.codeSentWithin(trx, portal.tenantId, portal.id, member.id, policy.resendSeconds)) {
        // Too soon for a new code: the one in the inbox works for this sign-in too (issue 15 §2).
        if (await repo.shareOpenCode(trx, portal.tenantId, portal.id, member.id, bindingHash(binding))) {
          await recordAudit(trx, actorFor(portal, visitor, member), { action: 'portal.sign_in.code_shared', targetType: 'user', targetId: member.id, resourceId: portal.id });
        }
        return undefined;
      }
      const id = randomUUID();
      const code = codes.newCode();
      await repo.replaceCode(trx, { id, tenantId: portal.tenantId, resourceId: portal.id, userId: member.id, codeHash: codes.hash(id, code), bindingHash: bindingHash(binding), ttlSeconds: policy.codeTtlSeconds });
      const prepared = await messages.prepare(trx, portal.tenantId, {
        channel: 'email',
        recipient: member.email,
        subject: `Your sign-in code for ${portal.name}`,
        bodyText: [
          `Your code to sign in to ${portal.name} is:`,
          '',
          `    ${code}`,
          '',
          `It expires in ${minutes} minutes and works once.`,
          'If you did not try to sign in, ignore this message.',
        ].join('\n'),
      });
      await recordAudit(trx, actorFor(portal, visitor, member), { action: 'portal.sign_in.code_sent', targetType: 'user', targetId: member.id, resourceId: portal.id });
      return prepared.dispatch;
    });
    if (!dispatch) return false;
    await dispatch();
    return true;
  }

  /** Checks a typed sign-in code against the member's open one (attempts spent atomically first). */
  async function matchCode(portal: PortalResource, member: repo.PortalMember, typed: string, binding: string): Promise<boolean> {
    const code = typed.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) return false;
    const open = await repo.reserveCodeAttempt(db, portal.tenantId, portal.id, member.id, bindingHash(binding), policy.codeAttempts);
    if (!open || !codes.matches(open.codeHash, open.id, code)) return false;
    return repo.useCode(db, portal.tenantId, open.id);
  }

  function failure(portal: PortalResource, visitor: Visitor, typed: string, reason: string, member?: repo.PortalMember, q: Queryable = db) {
    return recordAudit(q, actorFor(portal, visitor, member, typed), {
      action: 'portal.sign_in',
      targetType: 'user',
      targetId: member?.id,
      resourceId: portal.id,
      result: 'failure',
      details: { login: typed, step: 'first_factor', reason },
    });
  }

  /**
   * Step 1: the typed login. Answers nothing (every login leads to the same next page); emails
   * a code when the login is an assigned user without a password but with an email.
   */
  async function start(portal: PortalResource, visitor: Visitor, login: string, binding: string): Promise<void> {
    await throttle(portal, visitor, login);
    // Only some logins get a code written and queued: pad so that work does not show (SEC-22).
    await withMinimumDuration(CODE_SEND_PADDING_MS, async () => {
      const { member } = await signableMember(portal, login);
      if (member && !member.passwordHash && member.email) await sendCode(portal, visitor, { ...member, email: member.email }, binding);
    });
  }

  return {
    start,
    /** "Send a new code": the same silence as start; at most one new code a minute per user. */
    resendCode: start,

    /**
     * Step 2: the password, or the emailed code for users without a password. Null for every
     * failure kind. Counts toward the resource's lock; a success with a second factor still due
     * gives its attempt back without clearing earlier failures (repo.releaseAttempt).
     */
    async verifyFirstFactor(portal: PortalResource, visitor: Visitor, login: string, secret: string, binding: string): Promise<FirstFactorResult> {
      await throttle(portal, visitor, login);
      const started = performance.now();
      const { member, refusal } = await signableMember(portal, login);
      // Every failure kind runs the same statements (SEC-22): the resource, the reservation, the
      // counted failure and its audit event in one transaction. For a login that is nobody here
      // they aim at NO_MEMBER and change nothing; measured, skipping them made a wrong password
      // and a locked user answer slower than an unknown login (test/integration/sec-timing.test.ts).
      const resource = await findResource(db, portal.tenantId, portal.id);
      const known = member && resource ? member : undefined;
      const limit = resource?.failedAttemptsLimit ?? 1;
      const mayTry = await reserveAttempt(db, portal.tenantId, portal.id, known?.id ?? NO_MEMBER, limit);
      // One argon2 verification on every path keeps the timing of both methods alike (SEC-22). A
      // locked member's secret is checked too: a right one earns the lock's message (issue 15 §1).
      const secretOk = known
        ? known.passwordHash
          ? await verifyPassword(known.passwordHash, secret)
          : (await verifyPassword(null, secret), await matchCode(portal, known, secret, binding))
        : await verifyPassword(null, secret);
      const ok = secretOk && mayTry;
      if (!ok || !known || !resource) {
        const reason = !known ? (refusal ?? 'unknown_resource') : !mayTry ? 'locked' : known.passwordHash ? 'wrong_password' : 'wrong_code';
        // The counted failure, the lock and their audit events commit together.
        const { noticeDue } = await db.transaction(async (trx) => {
          const recorded = await recordFailure(trx, portal.tenantId, portal.id, known?.id ?? NO_MEMBER, { limit, lockMinutes: resource?.lockMinutes ?? 0 });
          await failure(portal, visitor, login, reason, member, trx);
          if (recorded.locked) await recordAudit(trx, actorFor(portal, visitor, member), { action: 'user.locked', targetType: 'user', targetId: known!.id, resourceId: portal.id, result: 'failure', details: { via: 'portal' } });
          return recorded;
        });
        // Only someone who knows the first factor learns of the lock; every other failure stays `null`.
        const lock = known && secretOk && !mayTry ? await lockNotices.lockOf(portal.tenantId, portal.id, known.id) : undefined;
        if (noticeDue && known) await lockNotices.tell({ tenantId: portal.tenantId, resourceId: portal.id, userId: known.id });
        await waitUntilElapsed(started, FIRST_FACTOR_FAILURE_MS);
        return lock ? { locked: lock } : null;
      }
      // Every enabled token demands the second step, also one this page cannot prove yet (fail closed).
      const tokens = await tokensForCheck(db, portal.tenantId, portal.id, known.id);
      const next = tokens.length > 0 ? 'token' : resource.requireSecondFactor ? 'enroll' : 'none';
      if (next === 'token') await repo.releaseAttempt(db, portal.tenantId, portal.id, known.id);
      else await recordSuccess(db, portal.tenantId, portal.id, known.id);
      await recordAudit(db, actorFor(portal, visitor, known), {
        action: next === 'token' ? 'portal.sign_in.first_factor' : 'portal.sign_in',
        targetType: 'user',
        targetId: known.id,
        resourceId: portal.id,
        result: 'success',
        details: { method: known.passwordHash ? 'password' : 'email_code', next },
      });
      return { userId: known.id, next };
    },

    /** What the second-factor page offers: whether a code can be sent by email or SMS, whether a security key can be used. */
    async secondFactorOptions(portal: PortalResource, userId: string): Promise<{ canSendCode: boolean; canUseWebauthn: boolean }> {
      const tokens = await tokensForCheck(db, portal.tenantId, portal.id, userId);
      return { canSendCode: tokens.some((t) => CHALLENGE_TYPES.has(t.type)), canUseWebauthn: tokens.some((t) => t.type === 'webauthn') };
    },

    /** Step 3 with a security key: the browser's options and the ceremony to keep; undefined when the user has no key usable here. */
    async webauthnOptions(portal: PortalResource, userId: string, rp: RelyingParty) {
      const member = await repo.findMemberById(db, portal.tenantId, portal.id, userId);
      if (!member || member.blocked) return undefined;
      // Not throttled: options prove nothing; the answer is (verifySecondFactorWebauthn).
      return authenticationOptions(db, { tenantId: portal.tenantId, resourceId: portal.id, userId }, rp);
    },

    /**
     * Step 3 with a security key (SEC-26): like a typed code it respects the resource's lock (the
     * attempt is reserved first, SEC-07/SEC-08) and a failed or unverifiable assertion counts as a
     * failure. `pending` must already be taken out of the session (single use).
     */
    async verifySecondFactorWebauthn(portal: PortalResource, visitor: Visitor, userId: string, pending: PendingCeremony | undefined, answer: unknown): Promise<boolean> {
      const member = await repo.findMemberById(db, portal.tenantId, portal.id, userId);
      if (!member || member.blocked) return false;
      await throttle(portal, visitor, member.login);
      const resource = await findResource(db, portal.tenantId, portal.id);
      if (!resource) return false;
      const actor = actorFor(portal, visitor, member);
      const audit = (result: 'success' | 'failure', details: Record<string, unknown>) => ({ action: 'portal.sign_in', targetType: 'user', targetId: member.id, resourceId: portal.id, result, details: { step: 'second_factor', method: 'webauthn', ...details } });
      if (!(await reserveAttempt(db, portal.tenantId, portal.id, member.id, resource.failedAttemptsLimit))) {
        await recordAudit(db, actor, audit('failure', { reason: 'locked' }));
        return false;
      }
      const outcome = await checkAssertion(db, { tenantId: portal.tenantId, resourceId: portal.id, userId: member.id }, pending, answer);
      if (!outcome.ok) {
        const { noticeDue } = await db.transaction(async (trx) => {
          const recorded = await recordFailure(trx, portal.tenantId, portal.id, member.id, { limit: resource.failedAttemptsLimit, lockMinutes: resource.lockMinutes });
          await recordAudit(trx, actor, audit('failure', { reason: outcome.reason }));
          if (recorded.locked) await recordAudit(trx, actor, { action: 'user.locked', targetType: 'user', targetId: member.id, resourceId: portal.id, result: 'failure', details: { via: 'portal' } });
          return recorded;
        });
        if (noticeDue) await lockNotices.tell({ tenantId: portal.tenantId, resourceId: portal.id, userId: member.id });
        return false;
      }
      await db.transaction(async (trx) => {
        await recordSuccess(trx, portal.tenantId, portal.id, member.id);
        await recordAudit(trx, actor, audit('success', { token: outcome.serial }));
      });
      return true;
    },

    /**
     * The lock of a user who is past the first factor (second-factor page, step-up), or undefined.
     * Telling them reveals nothing to someone who does not know that factor (issue 15 §1).
     */
    lockOf: (portal: PortalResource, userId: string): Promise<LockState | undefined> => lockNotices.lockOf(portal.tenantId, portal.id, userId),

    /** Sends email/SMS codes for the user's challenge tokens (the API's challenge, same throttles). */
    async sendSecondFactorCode(portal: PortalResource, visitor: Visitor, userId: string): Promise<void> {
      const member = await repo.findMemberById(db, portal.tenantId, portal.id, userId);
      if (!member) return;
      await throttle(portal, visitor, member.login);
      await challenges.request(actorFor(portal, visitor, member), portal.id, { login: member.login });
    },

    /** Step 3: a code from any of the user's tokens in the resource (the validation API's rules). */
    async verifySecondFactor(portal: PortalResource, visitor: Visitor, userId: string, code: string): Promise<boolean> {
      const member = await repo.findMemberById(db, portal.tenantId, portal.id, userId);
      if (!member || member.blocked) return false;
      await throttle(portal, visitor, member.login);
      const otp = code.replace(/\s+/g, '');
      if (!otp || otp.length > 64) return false;
      const actor = actorFor(portal, visitor, member);
      const { result, token } = await validation.authenticate(actor, portal.id, { login: member.login, otp });
      if (result) await recordAudit(db, actor, { action: 'portal.sign_in', targetType: 'user', targetId: member.id, resourceId: portal.id, result: 'success', details: { step: 'second_factor', token: token?.serial } });
      return result;
    },

    /**
     * The signed-in user as the portal shows them, or undefined when they may no longer be here
     * (unassigned, blocked, deleted): their session ends at once (SEC-15).
     */
    async dashboard(portal: PortalResource, userId: string): Promise<PortalDashboard | undefined> {
      // Runs on every signed-in request: one query for the user (assigned, not blocked), one for the tokens.
      const [user, tokens] = await Promise.all([repo.findAssignedUser(db, portal.tenantId, portal.id, userId), listUserTokensInResource(db, portal.tenantId, portal.id, userId)]);
      if (!user || user.blocked) return undefined;
      return { user, tokens, mustEnroll: portal.requireSecondFactor && !tokens.some((t) => t.enabled) };
    },

    async recordSignOut(portal: PortalResource, visitor: Visitor, userId: string): Promise<void> {
      await recordAudit(db, actorFor(portal, visitor, { id: userId }), { action: 'portal.sign_out', targetType: 'user', targetId: userId, resourceId: portal.id });
    },
  };
}
