/**
 * The API's token shapes (SPEC §2 Token). Explicit mappers, as in serializers.ts: a seed, a PIN
 * hash or a key id can never reach a response by accident (SEC-03). The otpauth URI and backup
 * codes exist only in the 201 of the creation that made them, shown once.
 */
import { z } from 'zod';
import type { CreatedToken } from '../tokens/token.service';
import { TOKEN_TYPES, type Token } from '../tokens/token.types';

const isoDate = z.iso.datetime();

export const tokenJson = z.object({
  id: z.uuid(),
  serial: z.string(),
  type: z.enum(TOKEN_TYPES),
  name: z.string(),
  enabled: z.boolean(),
  userId: z.uuid().nullable().describe('the owner; null for a hardware token in stock'),
  otpKind: z.enum(['totp', 'hotp']).nullable().describe('for OATH tokens (totp, hotp, hardware); null otherwise'),
  algorithm: z.enum(['SHA1', 'SHA256', 'SHA512']).nullable(),
  digits: z.union([z.literal(6), z.literal(8)]).nullable(),
  period: z.union([z.literal(30), z.literal(60)]).nullable().describe('TOTP step in seconds'),
  counter: z.int().nullable().describe('HOTP: the next expected counter'),
  drift: z.int().describe('TOTP: learned clock drift in steps (reset with POST /tokens/{id}/reset-drift)'),
  hasPin: z.boolean(),
  failCount: z.int(),
  lastUsedAt: isoDate.nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const tokenCreatedJson = tokenJson.extend({
  otpauthUri: z.string().optional().describe('only for a generated seed, only in this response: show it as a QR code once'),
  backupCodes: z.array(z.string()).optional().describe('only for backup_codes, only in this response'),
});

export const tokenResourcesJson = z.object({ items: z.array(z.object({ id: z.uuid(), name: z.string() })) });

export const checkResultJson = z.object({ result: z.boolean() });

export const authenticateResultJson = z.object({
  result: z.boolean().describe('false for every refusal (unknown or unassigned user, blocked, locked, wrong password, wrong code), always with the same body {"result":false}'),
  token: z.object({ serial: z.string(), type: z.enum(TOKEN_TYPES) }).optional().describe('on success: the token that proved the code'),
  challenge: z
    .object({ types: z.array(z.enum(TOKEN_TYPES)) })
    .optional()
    .describe('only when the request sent challenge: true, a password and no otp, and the password is right but a code must follow: the types of the user\'s tokens in the resource (call challenge first for email/sms, then authenticate with the otp alone). The attempt stays counted until the code succeeds'),
});

export type TokenJson = z.infer<typeof tokenJson>;
export type TokenCreatedJson = z.infer<typeof tokenCreatedJson>;

export function serializeToken(t: Token): TokenJson {
  return {
    id: t.id,
    serial: t.serial,
    type: t.type,
    name: t.name,
    enabled: t.enabled,
    userId: t.userId,
    otpKind: t.otpKind,
    algorithm: t.algorithm,
    digits: t.digits,
    period: t.otpKind === 'totp' ? t.period : null,
    counter: t.otpKind === 'hotp' ? t.hotpCounter : null,
    drift: t.drift,
    hasPin: t.hasPin,
    failCount: t.failCount,
    lastUsedAt: t.lastUsedAt ? t.lastUsedAt.toISOString() : null,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

export function serializeCreatedToken(created: CreatedToken): TokenCreatedJson {
  return {
    ...serializeToken(created.token),
    ...(created.otpauthUri ? { otpauthUri: created.otpauthUri } : {}),
    ...(created.backupCodes ? { backupCodes: created.backupCodes } : {}),
  };
}
