import { z } from 'zod';
import type { OtpAlgorithm, OtpParams } from '../otp/otp-engine';

export const TOKEN_TYPES = ['totp', 'hotp', 'hardware', 'email', 'sms', 'webauthn', 'backup_codes'] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];

/** Types whose codes come from an OATH seed (RFC 4226/6238). */
export const OATH_TYPES: readonly TokenType[] = ['totp', 'hotp', 'hardware'];

export interface Token {
  id: string;
  tenantId: string;
  userId: string | null;
  type: TokenType;
  serial: string;
  name: string;
  enabled: boolean;
  otpKind: 'totp' | 'hotp' | null;
  algorithm: OtpAlgorithm | null;
  digits: 6 | 8 | null;
  period: 30 | 60 | null;
  hotpCounter: number;
  totpLastStep: number | null;
  drift: number;
  hasPin: boolean;
  failCount: number;
  lastUsedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A token row with what verification needs (never leaves the service layer). */
export interface TokenSecretRow extends Token {
  seedSealed: string | null;
  pinHash: string | null;
}

/** What checking a code needs of a token: the authenticate hot path reads no more than this. */
export type TokenCheckRow = Pick<TokenSecretRow, 'id' | 'tenantId' | 'userId' | 'type' | 'serial' | 'otpKind' | 'algorithm' | 'digits' | 'period' | 'hotpCounter' | 'totpLastStep' | 'drift' | 'seedSealed' | 'pinHash'>;

export function oathParams(token: Pick<Token, 'otpKind' | 'algorithm' | 'digits' | 'period'>): OtpParams | undefined {
  if (!token.otpKind || !token.algorithm || !token.digits) return undefined;
  return token.otpKind === 'totp'
    ? { kind: 'totp', algorithm: token.algorithm, digits: token.digits, period: token.period ?? 30 }
    : { kind: 'hotp', algorithm: token.algorithm, digits: token.digits };
}

const serialSchema = z.string().trim().min(1, 'Enter a serial.').max(64, 'Use at most 64 characters.').regex(/^[A-Za-z0-9._:-]+$/, 'Use letters, digits and . _ : - only.');

export const tokenCreateSchema = z
  .object({
    type: z.enum(['totp', 'hotp', 'hardware', 'email', 'sms', 'backup_codes'], { error: 'Choose a type: totp, hotp, hardware, email, sms or backup_codes (webauthn keys are enrolled in the portal).' }),
    userId: z.string({ error: 'Use a user id.' }).uuid('Use a user id.').nullable().optional(),
    name: z.string().trim().max(100, 'Use at most 100 characters.').optional(),
    serial: serialSchema.optional(),
    secret: z.string({ error: 'Use a base32 or hex string.' }).trim().max(300, 'The secret is too long.').optional()
      .describe('Imported seed (at least 128 bits): base32, or hex (an even number of 0-9/a-f characters, or prefixed "hex:"). Omit it to have a seed generated.'),
    algorithm: z.enum(['SHA1', 'SHA256', 'SHA512'], { error: 'Choose SHA1, SHA256 or SHA512.' }).optional(),
    digits: z.union([z.literal(6), z.literal(8)], { error: 'Use 6 or 8 digits.' }).optional(),
    period: z.union([z.literal(30), z.literal(60)], { error: 'Use a period of 30 or 60 seconds.' }).optional(),
    counter: z.number({ error: 'Use a whole number.' }).int('Use a whole number.').min(0, 'Use 0 or more.').max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

export type TokenCreateInput = z.output<typeof tokenCreateSchema>;

export const tokenPatchSchema = z
  .object({
    name: z.string().trim().max(100, 'Use at most 100 characters.').optional(),
    enabled: z.boolean({ error: 'Use true or false.' }).optional(),
    userId: z.string().uuid('Use a user id.').nullable().optional(),
  })
  .strict();

export const pinSchema = z.object({
  pin: z.string({ error: 'Enter a PIN.' }).regex(/^\d{4,12}$/, 'Use 4 to 12 digits.'),
});

/** Two consecutive codes from the token, oldest first (API `POST /tokens/{id}/resync`). */
export const tokenResyncSchema = z
  .object({
    otp1: z.string({ error: 'Send the first code as a string.' }).trim().regex(/^\d{6,8}$/, 'Enter the code the token shows (6 or 8 digits).'),
    otp2: z.string({ error: 'Send the next code as a string.' }).trim().regex(/^\d{6,8}$/, 'Enter the code the token shows (6 or 8 digits).'),
  })
  .strict();

/** The admin check "is this code valid for this token now" (API `POST /tokens/{id}/verify`). */
export const tokenVerifySchema = z
  .object({ otp: z.string({ error: 'Send the code to check as a string.' }).trim().min(1, 'Send the code to check.').max(64, 'The code is too long.') })
  .strict();

/** List filters from a query string; blank values mean "any". */
export const tokenListFilterSchema = z.object({
  q: z.string({ error: 'Use one search text.' }).max(200, 'Use at most 200 characters.').optional(),
  type: z.enum(TOKEN_TYPES, { error: `Use one of: ${TOKEN_TYPES.join(', ')}.` }).optional(),
  status: z.enum(['enabled', 'disabled', 'stock'], { error: 'Use enabled, disabled or stock.' }).optional(),
  userId: z.uuid({ error: 'Use a user id.' }).optional(),
});

export interface TokenListFilter {
  q?: string;
  type?: TokenType;
  status?: 'enabled' | 'disabled' | 'stock';
  userId?: string;
}
