/**
 * Enroll Token in a resource's portal (SPEC §5.3) for `totp`, `hotp`, `email`, `sms` and
 * `backup_codes` (webauthn has its own ceremony). Two steps:
 * - `start` creates the token owned by the signed-in user, DISABLED and assigned to the resource
 *   (within max tokens per user), marked pending; it returns what the user needs once: the key
 *   (totp/hotp), the 10 backup codes, or it sends a code to the user's email/phone.
 * - `confirm` takes a code from that token; only then is it enabled and counts at sign-in. The
 *   code is spent (replay, SEC-05), audited as `portal.token.enroll`, the user notified.
 * Every call re-checks the type is enabled (403) and, when the user already has an enabled token
 * in the resource, a fresh second factor (SEC-14). A pending enrolment lasts 30 minutes and a
 * new start replaces the user's earlier one, so an abandoned token never blocks the limit.
 * Tenant, resource and user come from the PortalUser (the session), never from input.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db/knex';
import { ConflictError, NotFoundError, RateLimitedError, ValidationError } from '../lib/errors';
import type { SecretBox } from '../lib/secret-box';
import { recordAudit } from '../audit/audit.repository';
import type { MessageService } from '../outbox/message.service';
import { findResource } from '../resources/resource.repository';
import type { Resource } from '../resources/resource.types';
import { ENROLLMENT_TYPES } from '../selfservice/self-service.types';
import { consumeBackupCode } from '../tokens/backup-codes';
import { newSerial, type TokenService } from '../tokens/token.service';
import { countUserTokensInResource, insertTokenResource } from '../tokens/token.repository';
import { defaultTokenName } from '../tokens/token-names';
import type { Token, TokenSecretRow } from '../tokens/token.types';
import { findUser } from '../users/user.repository';
import type { User } from '../users/user.types';
import type { OathClaim } from '../validation/attempt.repository';
import type { ChallengeCodes } from '../validation/challenge-codes';
import { createChallengeCheck } from '../validation/challenge.check';
import * as challenges from '../validation/challenge.repository';
import { DEFAULT_CHALLENGE_POLICY } from '../validation/challenge.service';
import { matchOathCode } from '../validation/code-checks';
import { prepareNotice } from './notify';
import { actorOf, requireEnrollmentType, requireFreshSecondFactor, type PortalUser } from './portal-user';
import * as repo from './enrollment.repository';

export const ENROLLABLE_TYPES = ['totp', 'hotp', 'email', 'sms', 'backup_codes'] as const;
export type EnrollableType = (typeof ENROLLABLE_TYPES)[number];

/** Wrong codes a pending enrolment takes before it is cancelled (the user starts again). */
export const MAX_CONFIRM_ATTEMPTS = 5;

export const TYPE_LABELS: Record<string, string> = Object.fromEntries(ENROLLMENT_TYPES);

export type StartedEnrollment =
  | { type: 'totp' | 'hotp'; token: Token; otpauthUri: string }
  | { type: 'email' | 'sms'; token: Token; sentTo: string }
  | { type: 'backup_codes'; token: Token; backupCodes: string[] };

export interface EnrollmentChoice {
  type: string;
  label: string;
  /** False when the profile lacks what the type needs; `reason` says what. */
  available: boolean;
  reason?: string;
}

export interface EnrollmentOptions {
  choices: EnrollmentChoice[];
  max: number;
  count: number;
  atLimit: boolean;
}

/** Wrong code: 422 with the field message; `cancelled` when the enrolment ended because of it. */
export class EnrollmentCodeError extends ValidationError {
  constructor(message: string, readonly cancelled = false) {
    super({ code: message }, message);
  }
}

const WRONG_CODE: Record<EnrollableType, string> = {
  totp: 'That code is not right. Enter the code your authenticator app shows now.',
  hotp: 'That code is not right. Enter the next code your app shows.',
  email: 'That code is not right. Enter the 6-digit code from the email we sent you.',
  sms: 'That code is not right. Enter the 6-digit code from the SMS we sent you.',
  backup_codes: 'That code is not right. Enter one of the 10 backup codes shown.',
};

export type EnrollmentService = ReturnType<typeof createEnrollmentService>;

export interface EnrollmentDeps {
  db: Db;
  tokens: TokenService;
  secrets: SecretBox;
  messages: MessageService;
  codes: ChallengeCodes;
}

export function createEnrollmentService({ db, tokens, secrets, messages, codes }: EnrollmentDeps) {
  const challengeCheck = createChallengeCheck(codes);
  const policy = DEFAULT_CHALLENGE_POLICY;
  const minutes = Math.round(policy.ttlSeconds / 60);

  async function context(u: PortalUser): Promise<{ user: User; resource: Resource }> {
    const [user, resource] = await Promise.all([findUser(db, u.portal.tenantId, u.userId), findResource(db, u.portal.tenantId, u.portal.id)]);
    if (!user || !resource) throw new NotFoundError('Your account');
    return { user, resource };
  }

  /** Why the user cannot enroll `type` with their profile, or undefined. */
  function unavailable(type: string, user: User): string | undefined {
    if (type === 'email' && !user.email) return 'Your profile has no email address. Add one first, or ask your administrator.';
    if (type === 'sms' && !user.phone) return 'Your profile has no phone number. Add one first, or ask your administrator.';
    return undefined;
  }

  /** Stores a new code for the pending email/SMS token (replacing open ones) and its message, in `q`; throttled per token and user. */
  async function sendCode(q: Queryable, u: PortalUser, token: Token, user: User): Promise<{ sentTo: string; dispatch: () => Promise<void> }> {
    const recipient = token.type === 'email' ? user.email : user.phone;
    if (!recipient) throw new ValidationError({ code: unavailable(token.type, user)! });
    await challenges.lockUserForSend(q, u.portal.tenantId, user.id);
    if (await challenges.sentWithin(q, u.portal.tenantId, token.id, policy.resendSeconds)) throw new RateLimitedError(`A code was sent less than ${policy.resendSeconds} seconds ago. Wait a moment, then ask again.`);
    if ((await challenges.countSentToUser(q, u.portal.tenantId, user.id, 3600)) >= policy.hourlyCapPerUser) throw new RateLimitedError('Too many codes were sent in the last hour. Try again later.');
    await challenges.invalidateOpenChallenges(q, u.portal.tenantId, token.id);
    const id = randomUUID();
    const code = codes.newCode();
    await challenges.insertChallenge(q, { id, tenantId: u.portal.tenantId, tokenId: token.id, resourceId: u.portal.id, codeHash: codes.hash(id, code), ttlSeconds: policy.ttlSeconds });
    const message =
      token.type === 'sms'
        ? { channel: 'sms' as const, recipient, subject: `Confirmation code for ${u.portal.name} (SMS)`, bodyText: `${code} is your code to confirm SMS sign-in for ${u.portal.name}. It expires in ${minutes} minutes.` }
        : {
            channel: 'email' as const,
            recipient,
            subject: `Confirm your email token for ${u.portal.name}`,
            bodyText: [`Your code to confirm email sign-in codes for ${u.portal.name} is:`, '', `    ${code}`, '', `It expires in ${minutes} minutes and works once.`, 'If you did not ask for it, tell your administrator.'].join('\n'),
          };
    const { dispatch } = await messages.prepare(q, u.portal.tenantId, message);
    return { sentTo: recipient, dispatch };
  }

  async function mustFindPending(u: PortalUser, type: EnrollableType, tokenId: string | undefined): Promise<TokenSecretRow> {
    const token = tokenId ? await repo.findPending(db, u.portal.tenantId, u.portal.id, u.userId, tokenId, type) : undefined;
    if (!token) throw new ConflictError('This enrolment has expired or is already finished. Start again.');
    return token;
  }

  return {
    /** The portal's enabled types (webauthn included, enrolled elsewhere), whether this user can use each, and the token limit. */
    async options(u: PortalUser): Promise<EnrollmentOptions> {
      const { user, resource } = await context(u);
      const count = await countUserTokensInResource(db, u.portal.tenantId, u.userId, u.portal.id);
      const choices = ENROLLMENT_TYPES.filter(([id]) => u.portal.enrollmentTokenTypes.includes(id)).map(([type, label]) => {
        const reason = unavailable(type, user);
        return { type, label, available: !reason, reason };
      });
      return { choices, max: resource.maxTokensPerUser, count, atLimit: count >= resource.maxTokensPerUser };
    },

    /** Creates the pending token (see the module comment). Throws 403, step-up, 409 at the limit, 422 for a missing email/phone. */
    async start(u: PortalUser, type: EnrollableType, name?: string): Promise<StartedEnrollment> {
      requireEnrollmentType(u, type);
      await requireFreshSecondFactor(db, u);
      const { user, resource } = await context(u);
      const missing = unavailable(type, user);
      if (missing) throw new ValidationError({ type: missing }, missing);
      const limitReached = () => new ConflictError(`You already have the maximum of ${resource.maxTokensPerUser} token${resource.maxTokensPerUser === 1 ? '' : 's'} in ${resource.name}.`);
      if ((await countUserTokensInResource(db, u.portal.tenantId, u.userId, u.portal.id)) >= resource.maxTokensPerUser) throw limitReached();

      let sent: { sentTo: string; dispatch: () => Promise<void> } | undefined;
      // Unnamed: the kind and the end of the serial (issue 15 §6), so the serial is chosen here.
      const serial = newSerial(type);
      const created = await tokens.create(
        actorOf(u),
        { type, userId: u.userId, serial, name: name?.trim() || defaultTokenName(type, serial) },
        {
          enabled: false,
          within: async (trx, token) => {
            if (!(await repo.lockMembership(trx, u.portal.tenantId, u.portal.id, u.userId))) throw new NotFoundError('Your membership');
            await repo.discardPending(trx, u.portal.tenantId, u.portal.id, u.userId);
            if ((await countUserTokensInResource(trx, u.portal.tenantId, u.userId, u.portal.id)) >= resource.maxTokensPerUser) throw limitReached();
            await insertTokenResource(trx, u.portal.tenantId, token.id, u.portal.id);
            await repo.insertPending(trx, { tenantId: u.portal.tenantId, resourceId: u.portal.id, userId: u.userId, tokenId: token.id, type });
            await recordAudit(trx, actorOf(u), { action: 'portal.token.enroll_start', targetType: 'token', targetId: token.id, resourceId: u.portal.id, details: { serial: token.serial, type } });
            if (type === 'email' || type === 'sms') sent = await sendCode(trx, u, token, user);
          },
        },
      );
      if (sent) await sent.dispatch();
      const { token } = created;
      if (type === 'totp' || type === 'hotp') return { type, token, otpauthUri: created.otpauthUri! };
      if (type === 'backup_codes') return { type, token, backupCodes: created.backupCodes! };
      return { type, token, sentTo: sent!.sentTo };
    },

    /** The pending token for the confirm page and the backup codes download; 409 when none. */
    async pending(u: PortalUser, type: EnrollableType, tokenId: string | undefined): Promise<Token> {
      requireEnrollmentType(u, type);
      const { seedSealed: _seed, pinHash: _pin, ...token } = await mustFindPending(u, type, tokenId);
      return token;
    },

    /** Sends a new code for a pending email/SMS enrolment (throttled: 429). */
    async resend(u: PortalUser, type: 'email' | 'sms', tokenId: string | undefined): Promise<string> {
      requireEnrollmentType(u, type);
      await requireFreshSecondFactor(db, u);
      const token = await mustFindPending(u, type, tokenId);
      const { user } = await context(u);
      const sent = await db.transaction((trx) => sendCode(trx, u, token, user));
      await sent.dispatch();
      return sent.sentTo;
    },

    /**
     * Proves the pending token with `code` and enables it (audited, user notified). A wrong code
     * is a 422 EnrollmentCodeError and leaves the token disabled; after MAX_CONFIRM_ATTEMPTS the
     * enrolment is cancelled. A backup code used here is spent.
     */
    async confirm(u: PortalUser, type: EnrollableType, tokenId: string | undefined, input: string): Promise<Token> {
      requireEnrollmentType(u, type);
      await requireFreshSecondFactor(db, u);
      const token = await mustFindPending(u, type, tokenId);
      const { user, resource } = await context(u);
      const code = type === 'backup_codes' ? input.trim() : input.replace(/\s/g, '');
      if (!code) throw new EnrollmentCodeError(type === 'backup_codes' ? 'Enter one of your backup codes.' : 'Enter the code.');

      let claim: OathClaim | null = null;
      let ok: boolean;
      if (type === 'totp' || type === 'hotp') {
        claim = matchOathCode(token, code, { secrets, nowMs: Date.now(), totpWindow: resource.totpWindow });
        ok = claim !== null;
      } else if (type === 'backup_codes') {
        ok = await consumeBackupCode(db, u.portal.tenantId, token.id, code);
      } else {
        ok = await challengeCheck(token, code, { db, secrets, totpWindow: 0, nowMs: Date.now(), resourceId: u.portal.id });
      }
      const audit = { action: 'portal.token.enroll', targetType: 'token', targetId: token.id, resourceId: u.portal.id };
      if (!ok) {
        const failures = await repo.countFailure(db, u.portal.tenantId, token.id);
        const cancelled = failures >= MAX_CONFIRM_ATTEMPTS && (await repo.deletePendingToken(db, u.portal.tenantId, token.id));
        await recordAudit(db, actorOf(u), { ...audit, result: 'failure', details: { serial: token.serial, type, cancelled } });
        if (cancelled) throw new EnrollmentCodeError('Too many wrong codes: this enrolment was cancelled. Start again.', true);
        throw new EnrollmentCodeError(WRONG_CODE[type]);
      }

      const dispatch = await db.transaction(async (trx) => {
        if (!(await repo.enablePending(trx, u.portal.tenantId, token.id, claim))) throw new EnrollmentCodeError('That code was already used. Enter the next code.');
        await recordAudit(trx, actorOf(u), { ...audit, details: { serial: token.serial, type } });
        return prepareNotice(trx, messages, u.portal.tenantId, user.email, {
          subject: 'A new token was added',
          lines: [`A new ${TYPE_LABELS[type] ?? type} token (serial ${token.serial}) was added to your account "${user.login}" in ${u.portal.name}.`, 'It can now be used to sign in.'],
        });
      });
      await dispatch();
      const { seedSealed: _seed, pinHash: _pin, ...rest } = token;
      return { ...rest, enabled: true };
    },
  };
}
