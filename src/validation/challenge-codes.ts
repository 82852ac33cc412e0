/**
 * Email/SMS challenge codes (SEC-10, SEC-24): 6 digits from the CSPRNG, stored only as an
 * HMAC-SHA256 of `<challenge id>:<code>`. Six digits are 20 bits, so a plain hash would fall to a
 * brute force from a database dump in a second: the HMAC key is derived from the encryption key
 * (outside the database), and the per-challenge random id salts each hash. The stored value
 * carries the key id (`<keyId>:<hex>`), so a key rotation does not void codes already sent.
 */
import { createHmac, hkdfSync, randomInt, timingSafeEqual } from 'node:crypto';

export const CHALLENGE_CODE_DIGITS = 6;

export interface ChallengeCodes {
  /** A fresh 6-digit code, leading zeros kept. */
  newCode(): string;
  /** What `token_challenges.code_hash` stores for this challenge and code. */
  hash(challengeId: string, code: string): string;
  /** Constant-time comparison of a typed code against a stored hash; false for unknown key ids. */
  matches(stored: string, challengeId: string, code: string): boolean;
}

export function createChallengeCodes(encryptionKeys: Map<string, Buffer>, activeKeyId: string): ChallengeCodes {
  // A key of its own per encryption key (HKDF), so these MACs never share a key with AES-GCM.
  const macKeys = new Map<string, Buffer>();
  for (const [id, key] of encryptionKeys) macKeys.set(id, Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'mfa:token-challenge-code', 32)));

  const mac = (key: Buffer, challengeId: string, code: string) => createHmac('sha256', key).update(`${challengeId}:${code}`).digest();

  return {
    newCode: () => String(randomInt(0, 10 ** CHALLENGE_CODE_DIGITS)).padStart(CHALLENGE_CODE_DIGITS, '0'),
    hash: (challengeId, code) => `${activeKeyId}:${mac(macKeys.get(activeKeyId)!, challengeId, code).toString('hex')}`,
    matches(stored, challengeId, code) {
      const [keyId, hex] = stored.split(':');
      const key = macKeys.get(keyId);
      if (!key || !hex || hex.length !== 64) return false;
      return timingSafeEqual(Buffer.from(hex, 'hex'), mac(key, challengeId, code));
    },
  };
}
