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
import { oathParams, type TokenSecretRow, type TokenType } from '../tokens/token.types';

export interface CheckContext {
  db: Db;
  secrets: SecretBox;
  /** TOTP window of the resource (±steps). */
  totpWindow: number;
  nowMs: number;
  resourceId?: string;
}

export type CodeCheck = (token: TokenSecretRow, code: string, ctx: CheckContext) => Promise<boolean>;

/** TOTP/HOTP software tokens and OATH hardware tokens. */
export const checkOathCode: CodeCheck = async (token, code, ctx) => {
  const params = oathParams(token);
  if (!params || !token.seedSealed) return false;
  const seed = openSeed(ctx.secrets, token.id, token.seedSealed);
  if (params.kind === 'totp') {
    const match = verifyTotp({ seed, params, code, nowMs: ctx.nowMs, window: ctx.totpWindow, drift: token.drift, lastUsedStep: token.totpLastStep });
    return match.ok && claimTotpStep(ctx.db, token.tenantId, token.id, match.step, match.newDrift);
  }
  const match = verifyHotp({ seed, params, code, counter: token.hotpCounter });
  return match.ok && claimHotpCounter(ctx.db, token.tenantId, token.id, match.counter);
};

/** The check for each token type that takes a typed code; webauthn has none. Composed in services.ts. */
export type CodeChecks = Partial<Record<TokenType, CodeCheck>>;

export const OATH_CHECKS: CodeChecks = { totp: checkOathCode, hotp: checkOathCode, hardware: checkOathCode };
