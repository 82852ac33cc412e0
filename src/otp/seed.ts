/** Token seeds (SEC-02): generated from the CSPRNG, imported seeds checked for length. */
import { randomBytes } from 'node:crypto';
import { base32Decode } from './base32';

/** NIST SP 800-63B and RFC 4226 §4 R6: shared secrets of at least 128 bits. */
export const MIN_SEED_BYTES = 16;
/** 160 bits, the RFC 4226 recommendation and what authenticator apps expect for SHA1. */
export const DEFAULT_SEED_BYTES = 20;
/** Larger than any HMAC block we use (SHA-512: 128 bytes); a longer "seed" is a pasting mistake. */
export const MAX_SEED_BYTES = 128;

/** A fresh random seed; each call gives a new one, so seeds are unique per token. */
export function generateSeed(bytes = DEFAULT_SEED_BYTES): Buffer {
  checkLength(bytes);
  return randomBytes(bytes);
}

/**
 * Reads an imported seed (CSV, PSKC, API) in base32 or hex. Throws an Error with a message a
 * person can act on when the text is not valid in that encoding or the seed is too short or long.
 */
export function parseSeed(text: string, encoding: 'base32' | 'hex'): Buffer {
  let seed: Buffer;
  if (encoding === 'hex') {
    const clean = text.replace(/\s/g, '');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new Error('Invalid hex seed: use pairs of characters 0-9 and a-f.');
    seed = Buffer.from(clean, 'hex');
  } else {
    seed = base32Decode(text);
  }
  checkLength(seed.length);
  return seed;
}

/**
 * Which encoding an imported secret uses. A `hex:` or `base32:` prefix decides; otherwise a secret
 * of hex digits only and of even length is hex (a random base32 seed practically always has a
 * letter beyond F), and anything else is base32. One rule for the API, CSV and the console, so a
 * seed never decodes two ways.
 */
export function secretEncoding(text: string): { encoding: 'base32' | 'hex'; body: string } {
  const prefixed = /^(hex|base32):(.*)$/is.exec(text.trim());
  if (prefixed) return { encoding: prefixed[1].toLowerCase() as 'hex' | 'base32', body: prefixed[2].trim() };
  const clean = text.replace(/\s/g, '');
  return { encoding: clean.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(clean) ? 'hex' : 'base32', body: text.trim() };
}

function checkLength(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < MIN_SEED_BYTES) {
    throw new Error(`Seed too short: ${bytes} bytes (${bytes * 8} bits); at least ${MIN_SEED_BYTES} bytes (${MIN_SEED_BYTES * 8} bits) are required.`);
  }
  if (bytes > MAX_SEED_BYTES) throw new Error(`Seed too long: ${bytes} bytes; at most ${MAX_SEED_BYTES} bytes are accepted.`);
}
