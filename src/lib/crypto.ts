/** Small, audited building blocks: CSPRNG tokens, hashing of high-entropy secrets, constant-time compare. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A URL-safe random token with `bytes` bytes of entropy (default 32 = 256 bits). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 hex digest. Only for values with high entropy (API keys, invite tokens), never passwords. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Constant-time string equality; lengths are compared by hashing first so they leak nothing. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** safeEqual for values that may be absent (no cookie, no stored hash): absent never matches. */
export function sameSecret(a: string | null | undefined, b: string | null | undefined): boolean {
  return a != null && b != null && safeEqual(a, b);
}
