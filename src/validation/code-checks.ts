/**
 * One check per token family: does `code` prove this token right now? Each check also records
 * the use atomically (a step, a counter, a challenge or a backup code is consumed once, SEC-05),
 * so a true answer is final. Pure OTP maths lives in src/otp; this module adds the storage rules.
 */
import type { Db } from '../db/knex';
import type { SecretBox } from '../lib/secret-box';
import { verifyHotp, verifyTotp } from '../otp/otp-engine';
import { openSeed } from '../tokens/token-seed';
import { claimHotpCounter, claimTotpStep } from '../tokens/token.repository';
import { oathParams, type TokenCheckRow, type TokenType } from '../tokens/token.types';
import type { OathClaim } from './attempt.repository';

export interface CheckContext {
  db: Db;
  secrets: SecretBox;
  /** TOTP window of the resource (±steps). */
  totpWindow: number;
  nowMs: number;
  resourceId?: string;
}

export type CodeCheck = (token: TokenCheckRow, code: string, ctx: CheckContext) => Promise<boolean>;

/**
 * Does `code` match this OATH token now? Pure apart from opening the seed: returns the step or
 * counter to claim, or null. The authenticate path folds the claim into its finishing statement.
 */
export function matchOathCode(token: TokenCheckRow, code: string, ctx: Pick<CheckContext, 'secrets' | 'nowMs' | 'totpWindow'>): OathClaim | null {
  const params = oathParams(token);
  if (!params || !token.seedSealed) return null;
  const seed = openSeed(ctx.secrets, token.id, token.seedSealed);
  if (params.kind === 'totp') {
    const match = verifyTotp({ seed, params, code, nowMs: ctx.nowMs, window: ctx.totpWindow, drift: token.drift, lastUsedStep: token.totpLastStep });
    return match.ok ? { kind: 'totp', step: match.step, drift: match.newDrift } : null;
  }
  const match = verifyHotp({ seed, params, code, counter: token.hotpCounter });
  return match.ok ? { kind: 'hotp', counter: match.counter } : null;
}

/** TOTP/HOTP software tokens and OATH hardware tokens: match, then claim the step or counter. */
export const checkOathCode: CodeCheck = async (token, code, ctx) => {
  const claim = matchOathCode(token, code, ctx);
  if (!claim) return false;
  return claim.kind === 'totp'
    ? claimTotpStep(ctx.db, token.tenantId, token.id, claim.step, claim.drift)
    : claimHotpCounter(ctx.db, token.tenantId, token.id, claim.counter);
};

/** The check for each token type that takes a typed code; webauthn has none. Composed in services.ts. */
export type CodeChecks = Partial<Record<TokenType, CodeCheck>>;

export const OATH_CHECKS: CodeChecks = { totp: checkOathCode, hotp: checkOathCode, hardware: checkOathCode };
