/** Password and PIN hashing with argon2id (SEC-16). */
import { hash, verify } from '@node-rs/argon2';

const OPTIONS = { algorithm: 2 /* Algorithm.Argon2id (a const enum) */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** A hash of a throwaway value, verified against when an account does not exist so timing stays even. */
let dummyHash: Promise<string> | undefined;

export function hashPassword(plain: string): Promise<string> {
  return hash(plain, OPTIONS);
}

export async function verifyPassword(storedHash: string | null | undefined, plain: string): Promise<boolean> {
  if (!storedHash) {
    dummyHash ??= hash('not-a-real-password', OPTIONS);
    await verify(await dummyHash, plain).catch(() => false);
    return false;
  }
  return verify(storedHash, plain).catch(() => false);
}

const COMMON_PASSWORDS = new Set([
  'password', 'password1', 'password123', '12345678', '123456789', '1234567890', 'qwertyui', 'qwerty123',
  'iloveyou', 'sunshine', 'princess', 'football', 'baseball', 'welcome1', 'admin123', 'letmein1',
  'abc12345', 'passw0rd', 'trustno1', '11111111', '00000000', 'changeme', 'qwertyuiop', 'superman',
]);

/** Returns a message when the password breaks the policy (SEC-16: length, common passwords), else null. */
export function passwordProblem(plain: string): string | null {
  if (plain.length < 8) return 'Use at least 8 characters.';
  if (plain.length > 128) return 'Use at most 128 characters.';
  const lowered = plain.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered) || /^(.)\1+$/.test(plain) || /^(0123456789|123456789|abcdefgh)/.test(lowered)) {
    return 'This password is too common; choose another.';
  }
  return null;
}
