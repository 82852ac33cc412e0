/**
 * The one HMAC-and-truncate primitive (RFC 4226 §5.3) every OTP in the engine goes through,
 * plus the constant-time code comparison. Built on otplib v12's HOTP.
 */
import { timingSafeEqual } from 'node:crypto';
import { hotp } from 'otplib';
import { OTP_ALGORITHMS, OTP_DIGITS, type CodeParams } from './otp.types';

type HotpOptions = NonNullable<Parameters<typeof hotp.clone>[0]>;

// otplib v12 handles every case we need once the seed is given as hex: the key is passed to
// node:crypto HMAC unchanged (no padding, so 32/64-byte SHA256/512 seeds work) and the counter is
// written as 16 hex digits (a full 8-byte big-endian counter, correct up to 2^53).
// Instances are cached because cloning merges and freezes options on every call.
const instances = new Map<string, typeof hotp>();

function instance(params: CodeParams): typeof hotp {
  const key = `${params.algorithm}/${params.digits}`;
  let found = instances.get(key);
  if (!found) {
    found = hotp.clone({
      algorithm: params.algorithm.toLowerCase() as HotpOptions['algorithm'],
      digits: params.digits,
      encoding: 'hex' as HotpOptions['encoding'],
    });
    instances.set(key, found);
  }
  return found;
}

/** Throws on parameters outside the supported set (data read back from storage may be corrupt). */
export function assertCodeParams(params: CodeParams): void {
  if (!OTP_ALGORITHMS.includes(params.algorithm)) throw new RangeError(`Unsupported OTP algorithm: ${String(params.algorithm)}.`);
  if (!OTP_DIGITS.includes(params.digits)) throw new RangeError(`Unsupported OTP length: ${String(params.digits)} digits (6 or 8).`);
}

/** The code for one counter value (a TOTP step is such a counter). */
export function hotpCode(seed: Buffer, counter: number, params: CodeParams): string {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`Invalid OTP counter: ${counter}.`);
  return instance(params).generate(seed.toString('hex'), counter);
}

/** True when `code` has the shape of a code for these params: checked before any HMAC is computed. */
export function isWellFormedCode(code: unknown, params: CodeParams): code is string {
  return typeof code === 'string' && code.length === params.digits && /^[0-9]+$/.test(code);
}

/** Constant-time equality of two codes of the same, already validated, length. */
export function codesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'latin1');
  const bb = Buffer.from(b, 'latin1');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
