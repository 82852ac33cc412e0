/**
 * The validation API's rules (SPEC §3): is this user, in this resource, proving a second factor
 * (and optionally their password) right now? Every processed check answers result true/false
 * with the same shape, writes an audit event, and counts towards the lock (SEC-07, SEC-08,
 * SEC-22: unknown user, unassigned, blocked, locked, wrong password and wrong code look alike).
 */
import { z } from 'zod';
import type { Db } from '../db/knex';
import { NotFoundError, ValidationError } from '../lib/errors';
import { verifyPassword } from '../lib/passwords';
import type { SecretBox } from '../lib/secret-box';
import { parseInput } from '../lib/validation';
import { createBatcher } from '../lib/batcher';
import type { Actor } from '../audit/actor';
import { isUuid } from '../db/errors';
import type { TokenCheckRow } from '../tokens/token.types';
import * as attempts from './attempt.repository';
import { checkOathCode, matchOathCode, type CodeChecks } from './code-checks';
import { splitPin } from './pin';

/** Logins are looked up literally: blank, wildcard and pattern-like values are refused first (SEC-21). */
export const loginSchema = z
  .string({ error: 'Send the user\'s login.' })
  .trim()
  .min(1, 'Send the user\'s login.')
  .max(254, 'The login is too long.')
  .refine((v) => !/[*%?\s]/.test(v), 'A login cannot contain spaces or wildcards.');

export const authenticateSchema = z
  .object({
    login: loginSchema,
    otp: z.string({ error: 'Send the one-time password as a string.' }).trim().max(64, 'The one-time password is too long.').optional(),
    password: z.string({ error: 'Send the password as a string.' }).max(128, 'The password is too long.').optional(),
    /** First step of a two-step sign-in (the RADIUS connector's challenge mode): see `authenticate`. */
    challenge: z.boolean({ error: 'Send challenge as true or false.' }).optional(),
  })
  .strict();

/** At most this many checks in one batch request (the RADIUS connector sends what arrived together). */
export const MAX_BATCH_CHECKS = 100;

export const authenticateBatchSchema = z
  .object({
    checks: z
      .array(z.unknown(), { error: 'Send checks as an array of authenticate bodies.' })
      .min(1, 'Send at least one check.')
      .max(MAX_BATCH_CHECKS, `Send at most ${MAX_BATCH_CHECKS} checks at a time.`),
  })
  .strict();

/** One check of a batch: its result, or why its body was refused (the others still count). */
export type BatchCheckResult = AuthenticateResult | { result: false; error: string };

/** A refused body's field messages on one line ("login: Send the user's login."). */
function refusal(err: ValidationError): string {
  const parts = Object.entries(err.fields).map(([field, message]) => (field ? `${field}: ${message}` : message));
  return parts.join(' ') || err.message;
}

export interface AuthenticateResult {
  result: boolean;
  token?: { serial: string; type: string };
  /** Only with `challenge: true` and a right password: the second factor still to prove. */
  challenge?: { types: string[] };
}

type Reason = 'ok' | 'unknown_user' | 'blocked' | 'locked' | 'wrong_password' | 'no_token' | 'wrong_code' | 'second_factor_required' | 'second_factor_pending';

export type AuthenticateService = ReturnType<typeof createAuthenticateService>;

/**
 * Batch limits of the attempt statements (src/lib/batcher.ts). One statement of each kind at a
 * time measured best (docs/performance.md): with two in flight, batches are half the size and
 * take as long, and the database spends more per check.
 */
const BATCH = { maxBatch: 100, maxInFlight: 1 };

/**
 * Two statements per processed check, each shared with the concurrent checks of other requests:
 * `beginAttempts` (resource, member, tokens, and the reservation unless the attempt is gated)
 * and `finishAttempts` (claim, counter or lock, audit), see attempt.repository.ts for how the
 * failure limit holds either way. Checks other than the OATH one record their use themselves, so
 * their attempts are always reserved first.
 */
/**
 * `tellLock`: emails the user of a lock not told yet (lock-notices.ts); runs when the finishing
 * statement reports one due, which it checks for every failure in the same statement.
 */
export function createAuthenticateService(db: Db, secrets: SecretBox, checks: CodeChecks, tellLock?: (scope: Required<attempts.AttemptScope>) => Promise<void>) {
  const gatedTypes = Object.entries(checks).filter(([, check]) => check === checkOathCode).map(([type]) => type);
  // One attempt per member per batch, one end per user per batch: a statement changes a row once.
  const begin = createBatcher((keys: attempts.AttemptKey[]) => attempts.beginAttempts(db, keys, gatedTypes), {
    ...BATCH,
    keyOf: (k) => `${k.tenantId}/${k.resourceId}/${k.login.toLowerCase()}`,
  });
  const finishBatch = createBatcher((ends: attempts.AttemptEnd[]) => attempts.finishAttempts(db, ends), {
    ...BATCH,
    keyOf: (e) => (e.scope.userId ? `${e.scope.tenantId}/${e.scope.userId}` : undefined),
  });
  /** Ends an attempt; tells the user of a lock it caused or met, once per lock. */
  async function finish(e: attempts.AttemptEnd): Promise<attempts.AttemptStatus> {
    const { status, noticeDue } = await finishBatch(e);
    if (noticeDue && e.scope.userId) await tellLock?.({ ...e.scope, userId: e.scope.userId });
    return status;
  }

  type Scope = Required<attempts.AttemptScope>;
  interface Check {
    actor: Actor;
    login: string;
    scope: Scope;
    gated: boolean;
    limit: number;
    lockMinutes: number;
    pinPosition: 'before' | 'after';
    totpWindow: number;
  }

  /** Records how the attempt ends; true only when it ended in a success this request won. */
  async function end(c: Check, outcome: attempts.AttemptOutcome, reason: Reason, token?: TokenCheckRow): Promise<boolean> {
    const status = await finish({
      scope: c.scope,
      outcome,
      policy: { gated: c.gated, limit: c.limit, lockMinutes: c.lockMinutes, countTokens: outcome.kind === 'claim' || reason === 'wrong_code' },
      actor: c.actor,
      audit: { login: c.login, reason: outcome.kind === 'claim' ? 'wrong_code' : reason, token: token && { serial: token.serial, type: token.type } },
    });
    return status === 'ok';
  }

  /**
   * Tries each of the user's tokens in the resource; the first that accepts the code wins and its
   * success is recorded. Returns the token, or null once the attempt has been recorded otherwise
   * (gated: a match is final either way), or undefined when nothing matched.
   */
  async function prove(c: Check, tokens: TokenCheckRow[], otp: string): Promise<TokenCheckRow | null | undefined> {
    const ctx = { db, secrets, totpWindow: c.totpWindow, nowMs: Date.now(), resourceId: c.scope.resourceId };
    for (const token of tokens) {
      const check = checks[token.type];
      if (!check) continue;
      const parts = await splitPin(token, otp, c.pinPosition);
      if (!parts) continue;
      if (check === checkOathCode) {
        // The claim and its outcome are one statement; reserved, a claim lost to a concurrent request lets the next token try.
        const claim = matchOathCode(token, parts.code, ctx);
        if (!claim) continue;
        if (await end(c, { kind: 'claim', tokenId: token.id, claim }, 'ok', token)) return token;
        if (c.gated) return null;
      } else if (await check(token, parts.code, ctx)) {
        return (await end(c, { kind: 'success' }, 'ok', token)) ? token : null;
      }
    }
    return undefined;
  }

  /** Checks a user's second factor (and password, when sent) in a resource of the actor's tenant. */
  async function authenticate(actor: Actor, resourceId: string, input: unknown): Promise<AuthenticateResult> {
    const { login, otp, password, challenge } = parseInput(authenticateSchema, input);
    if (otp === undefined && password === undefined) throw new ValidationError({ otp: 'Send an otp, a password, or both.' });
    if (challenge && (password === undefined || otp !== undefined)) throw new ValidationError({ challenge: 'challenge goes with a password and no otp.' });
    if (!isUuid(resourceId)) throw new NotFoundError('Resource');
    const { resource, member, gated, mayTry, tokens } = await begin({ tenantId: actor.tenantId, resourceId, login, hasOtp: otp !== undefined, hasPassword: password !== undefined });
    if (!resource) throw new NotFoundError('Resource');

    if (!member || member.blocked || !mayTry) {
      // Spend the time a real check would, so timing does not tell unknown users apart (SEC-22).
      if (password !== undefined) await verifyPassword(null, password);
      const scope = { tenantId: actor.tenantId, resourceId: resource.id, userId: member?.id };
      const reason: Reason = !member ? 'unknown_user' : member.blocked ? 'blocked' : 'locked';
      await finish({ scope, outcome: { kind: 'refusal' }, actor, audit: { login, reason } });
      return { result: false };
    }
    const c: Check = {
      actor,
      login,
      scope: { tenantId: actor.tenantId, resourceId: resource.id, userId: member.id },
      gated,
      limit: resource.failedAttemptsLimit,
      lockMinutes: resource.lockMinutes,
      pinPosition: resource.pinPosition,
      totpWindow: resource.totpWindow,
    };
    const fail = async (reason: Reason) => {
      await end(c, { kind: 'failure' }, reason);
      return { result: false };
    };

    if (password !== undefined && !(await verifyPassword(member.passwordHash, password))) return fail('wrong_password');
    if (otp !== undefined) {
      if (tokens.length === 0) return fail('no_token');
      const proven = await prove(c, tokens, otp);
      if (proven === undefined) return fail('wrong_code');
      return proven ? { result: true, token: { serial: proven.serial, type: proven.type } } : { result: false };
    }
    if (challenge && tokens.length > 0) {
      // The password is right and a code must follow. The attempt stays counted (reserved by
      // beginAttempts) until the code proves the user, so a known password never resets the
      // count of wrong codes; it is not a failure of its own either.
      await end(c, { kind: 'failure' }, 'second_factor_pending');
      return { result: false, challenge: { types: [...new Set(tokens.map((t) => t.type))].sort() } };
    }
    if (tokens.length > 0 || resource.requireSecondFactor) {
      // Password alone is not enough when the user has a second factor or the resource requires one.
      return fail('second_factor_required');
    }
    return (await end(c, { kind: 'success' }, 'ok')) ? { result: true } : { result: false };
  }

  return {
    authenticate,

    /**
     * Several checks in one request, each exactly as `authenticate` would do it alone (same rules,
     * audit and lock; the statements batch with concurrent checks either way). A body that is
     * refused fails alone, with its message; an unknown resource refuses the whole batch.
     */
    async authenticateMany(actor: Actor, resourceId: string, input: unknown): Promise<BatchCheckResult[]> {
      const { checks } = parseInput(authenticateBatchSchema, input);
      return Promise.all(
        checks.map((check) =>
          authenticate(actor, resourceId, check).catch((err: unknown) => {
            if (err instanceof ValidationError) return { result: false as const, error: refusal(err) };
            throw err;
          }),
        ),
      );
    },
  };
}
