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
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import { findResource } from '../resources/resource.repository';
import type { Resource } from '../resources/resource.types';
import { incrementTokenFailures, tokensForCheck } from '../tokens/token.repository';
import type { TokenSecretRow } from '../tokens/token.types';
import type { CodeChecks } from './code-checks';
import * as lockout from './lockout.repository';
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
  })
  .strict();

export interface AuthenticateResult {
  result: boolean;
  token?: { serial: string; type: string };
}

type Reason = 'ok' | 'unknown_user' | 'blocked' | 'locked' | 'wrong_password' | 'no_token' | 'wrong_code' | 'second_factor_required';

export type AuthenticateService = ReturnType<typeof createAuthenticateService>;

export function createAuthenticateService(db: Db, secrets: SecretBox, checks: CodeChecks) {
  async function findMember(tenantId: string, resourceId: string, login: string) {
    return db('users as u')
      .join('resource_users as ru', 'ru.user_id', 'u.id')
      .where({ 'u.tenant_id': tenantId, 'ru.resource_id': resourceId })
      .whereRaw('lower(u.login) = lower(?)', [login])
      .first('u.id', 'u.login', 'u.password_hash', 'u.blocked_at');
  }

  /** Tries each of the user's tokens in the resource; the first that accepts the code wins. */
  async function proveToken(tokens: TokenSecretRow[], otp: string, resource: Resource): Promise<TokenSecretRow | undefined> {
    const ctx = { db, secrets, totpWindow: resource.totpWindow, nowMs: Date.now(), resourceId: resource.id };
    for (const token of tokens) {
      const check = checks[token.type];
      if (!check) continue;
      const parts = await splitPin(token, otp, resource.pinPosition);
      if (parts && (await check(token, parts.code, ctx))) return token;
    }
    return undefined;
  }

  async function audit(actor: Actor, resource: Resource, login: string, reason: Reason, token?: TokenSecretRow, userId?: string) {
    await recordAudit(db, actor, {
      action: 'authenticate',
      targetType: 'user',
      targetId: userId,
      resourceId: resource.id,
      result: reason === 'ok' ? 'success' : 'failure',
      details: { login, reason, ...(token ? { token: token.serial, tokenType: token.type } : {}) },
    });
  }

  return {
    /** Checks a user's second factor (and password, when sent) in a resource of the actor's tenant. */
    async authenticate(actor: Actor, resourceId: string, input: unknown): Promise<AuthenticateResult> {
      const { login, otp, password } = parseInput(authenticateSchema, input);
      if (otp === undefined && password === undefined) throw new ValidationError({ otp: 'Send an otp, a password, or both.' });
      const resource = await findResource(db, actor.tenantId, resourceId);
      if (!resource) throw new NotFoundError('Resource');

      const member = await findMember(actor.tenantId, resource.id, login);
      const refuse = async (reason: Reason, token?: TokenSecretRow) => {
        await audit(actor, resource, login, reason, token, member?.id);
        return { result: false };
      };
      if (!member || member.blocked_at) {
        // Spend the time a real check would, so timing does not tell unknown users apart (SEC-22).
        if (password !== undefined) await verifyPassword(null, password);
        return refuse(member ? 'blocked' : 'unknown_user');
      }
      if (!(await lockout.reserveAttempt(db, actor.tenantId, resource.id, member.id, resource.failedAttemptsLimit))) {
        if (password !== undefined) await verifyPassword(null, password);
        return refuse('locked');
      }
      const fail = async (reason: Reason, tokens: TokenSecretRow[] = []) => {
        await lockout.recordFailure(db, actor.tenantId, resource.id, member.id, { limit: resource.failedAttemptsLimit, lockMinutes: resource.lockMinutes });
        await incrementTokenFailures(db, actor.tenantId, tokens.map((t) => t.id));
        return refuse(reason);
      };

      if (password !== undefined && !(await verifyPassword(member.password_hash, password))) return fail('wrong_password');
      const tokens = await tokensForCheck(db, actor.tenantId, resource.id, member.id);
      let proven: TokenSecretRow | undefined;
      if (otp !== undefined) {
        if (tokens.length === 0) return fail('no_token');
        proven = await proveToken(tokens, otp, resource);
        if (!proven) return fail('wrong_code', tokens);
      } else if (tokens.length > 0 || resource.requireSecondFactor) {
        // Password alone is not enough when the user has a second factor or the resource requires one.
        return fail('second_factor_required');
      }
      await lockout.recordSuccess(db, actor.tenantId, resource.id, member.id);
      await audit(actor, resource, login, 'ok', proven, member.id);
      return proven ? { result: true, token: { serial: proven.serial, type: proven.type } } : { result: true };
    },
  };
}
