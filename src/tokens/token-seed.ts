/**
 * Seeds at rest (SEC-03): sealed with AES-256-GCM, bound to the token id as associated data, so
 * a ciphertext copied onto another token row does not decrypt.
 */
import type { SecretBox } from '../lib/secret-box';

function context(tokenId: string): string {
  return `token-seed:${tokenId}`;
}

/** The columns to store for a seed: the ciphertext and its key id (for rotation queries). */
export function sealSeed(secrets: SecretBox, tokenId: string, seed: Buffer): { seed_sealed: string; seed_key_id: string } {
  return { seed_sealed: secrets.encrypt(seed, context(tokenId)), seed_key_id: secrets.activeKeyId };
}

export function openSeed(secrets: SecretBox, tokenId: string, sealed: string): Buffer {
  return secrets.decrypt(sealed, context(tokenId));
}
