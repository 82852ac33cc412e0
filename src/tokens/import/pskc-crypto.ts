/**
 * The cryptography of encrypted PSKC files (RFC 6030 §6.1 pre-shared key, §6.2 password), pure
 * node:crypto: PBKDF2 key derivation (PKCS #5 v2.0), hex pre-shared keys, AES-CBC with the IV
 * prepended to the ciphertext (XML Encryption), and HMAC value MACs compared in constant time.
 * Algorithms are named by their W3C/RSA URIs; only the fragment after `#` decides.
 */
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

export class PskcCryptoError extends Error {}

/** The padding did not check out: almost always a wrong key. Callers name the key (password, pre-shared key). */
export class PskcWrongKeyError extends PskcCryptoError {}

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
 * A pre-shared AES key typed by an admin: hex, 16, 24 or 32 bytes. Spaces, colons and dashes
 * between the digits and a leading 0x are allowed (vendors print keys in groups). Undefined when
 * it is not such a key.
 */
export function parseHexKey(text: string): Buffer | undefined {
  const clean = text.trim().replace(/^0x/i, '').replace(/[\s:-]+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(clean) || ![32, 48, 64].includes(clean.length)) return undefined;
  return Buffer.from(clean, 'hex');
}

/**
 * AES-CBC decryption of a CipherValue (16-byte IV then ciphertext, PKCS #7 padding). A padding
 * failure almost always means a wrong key: PskcWrongKeyError, which the caller words.
 */
export function decryptCbc(algorithmUri: string, key: Buffer, data: Buffer): Buffer {
  const spec = CIPHERS[fragment(algorithmUri)];
  if (!spec) throw new PskcCryptoError(`the encryption algorithm "${algorithmUri}" is not supported (use aes128-cbc, aes192-cbc or aes256-cbc)`);
  if (key.length !== spec.keyLength) throw new PskcCryptoError(`the key has ${key.length} bytes but ${fragment(algorithmUri)} needs ${spec.keyLength}`);
  if (data.length < 32 || data.length % 16 !== 0) throw new PskcCryptoError('the CipherValue is not an IV followed by whole AES blocks');
  const decipher = createDecipheriv(spec.cipher, key, data.subarray(0, 16));
  try {
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
  } catch {
    throw new PskcWrongKeyError('the value could not be decrypted with this key');
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
