/**
 * The cryptography of password-protected PSKC files (RFC 6030 §6.1, §6.2), pure node:crypto:
 * PBKDF2 key derivation (PKCS #5 v2.0), AES-CBC with the IV prepended to the ciphertext
 * (XML Encryption), and HMAC value MACs compared in constant time.
 * Algorithms are named by their W3C/RSA URIs; only the fragment after `#` decides.
 */
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

export class PskcCryptoError extends Error {}

const CIPHERS: Record<string, { cipher: string; keyLength: number }> = {
  'aes128-cbc': { cipher: 'aes-128-cbc', keyLength: 16 },
  'aes192-cbc': { cipher: 'aes-192-cbc', keyLength: 24 },
  'aes256-cbc': { cipher: 'aes-256-cbc', keyLength: 32 },
};

const HMACS: Record<string, string> = {
  'hmac-sha1': 'sha1',
  'hmac-sha224': 'sha224',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
};

/** A file asking for millions of iterations would hold a worker for minutes; real exports use thousands. */
export const MAX_PBKDF2_ITERATIONS = 1_000_000;

function fragment(uri: string): string {
  return uri.slice(uri.lastIndexOf('#') + 1).trim().toLowerCase();
}

/** Key size in bytes of an XML Encryption block cipher URI, or undefined if we do not support it. */
export function cipherKeyLength(algorithmUri: string): number | undefined {
  return CIPHERS[fragment(algorithmUri)]?.keyLength;
}

/** Node's digest name for an xmldsig HMAC URI (MACMethod, PBKDF2 PRF); undefined if unsupported. */
export function hmacDigest(algorithmUri: string): string | undefined {
  return HMACS[fragment(algorithmUri)];
}

export interface Pbkdf2Params {
  salt: Buffer;
  iterations: number;
  keyLength: number;
  /** Node digest name; PKCS #5 defaults to HMAC-SHA1 when the PRF is not given. */
  digest: string;
}

export function derivePbkdf2(password: string, params: Pbkdf2Params): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), params.salt, params.iterations, params.keyLength, params.digest);
}

/**
 * AES-CBC decryption of a CipherValue (16-byte IV then ciphertext, PKCS #7 padding). A padding
 * failure almost always means a wrong key: the caller turns it into "the password is wrong".
 */
export function decryptCbc(algorithmUri: string, key: Buffer, data: Buffer): Buffer {
  const spec = CIPHERS[fragment(algorithmUri)];
  if (!spec) throw new PskcCryptoError(`the encryption algorithm "${algorithmUri}" is not supported (use aes128-cbc, aes192-cbc or aes256-cbc)`);
  if (key.length !== spec.keyLength) throw new PskcCryptoError(`the derived key has ${key.length} bytes but ${fragment(algorithmUri)} needs ${spec.keyLength}`);
  if (data.length < 32 || data.length % 16 !== 0) throw new PskcCryptoError('the CipherValue is not an IV followed by whole AES blocks');
  const decipher = createDecipheriv(spec.cipher, key, data.subarray(0, 16));
  try {
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
  } catch {
    throw new PskcCryptoError('the value could not be decrypted: the password is wrong');
  }
}

/** True when `mac` is the HMAC of `data` (RFC 6030 §6.1.1: over IV + ciphertext), compared in constant time. */
export function macMatches(digest: string, macKey: Buffer, data: Buffer, mac: Buffer): boolean {
  const expected = createHmac(digest, macKey).update(data).digest();
  return expected.length === mac.length && timingSafeEqual(expected, mac);
}

/** Strict base64 (whitespace allowed between characters, as XML pretty-printing adds). */
export function decodeBase64(text: string): Buffer | undefined {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) return undefined;
  return Buffer.from(clean, 'base64');
}
