/**
 * The pure OTP engine (SPEC §3, SEC-01/04/05/06): code generation, the verification windows,
 * drift, replay rules and resynchronisation. No database, no HTTP, no clock: time is passed in
 * and the caller stores the returned step/counter/drift (atomically, SEC-05) only on success.
 *
 * Accepted sets, exactly:
 * - TOTP: steps `current + clamp(drift) + d` for every d in [-window, +window] (window 0..10,
 *   default 1) that are strictly greater than `lastUsedStep`. On success the drift becomes
 *   `matched - current`, clamped to ±1 day of steps (2880 at 30 s, 1440 at 60 s): the same bound
 *   as the sync search, so a drift found by sync is always usable, and repeated successes at the
 *   window edge cannot walk the drift further than that.
 * - HOTP: `counter` is the NEXT EXPECTED counter (last accepted + 1). Accepted counters are
 *   counter, counter+1, ..., counter+lookAhead (default 10): "10 ahead" means 10 presses beyond the
 *   expected one are accepted, 11 are refused. Anything below `counter` is a replay by definition.
 * - Sync: two consecutive codes (n, n+1) found in the search range; one matching code alone is
 *   never enough, since 1 in 10^6 random codes matches any given counter.
 */
import { assertCodeParams, codesEqual, hotpCode, isWellFormedCode } from './hotp';
import { TOTP_PERIODS, type CodeParams, type HotpVerifyResult, type TotpParams, type TotpVerifyResult } from './otp.types';

export * from './otp.types';
export { base32Decode, base32Encode } from './base32';
export { generateSeed, parseSeed, secretEncoding, MIN_SEED_BYTES, DEFAULT_SEED_BYTES } from './seed';
export { otpauthUri, type OtpauthUriInput } from './otpauth-uri';

export const DEFAULT_TOTP_WINDOW = 1;
export const MAX_TOTP_WINDOW = 10;
export const HOTP_LOOK_AHEAD = 10;
export const MAX_HOTP_LOOK_AHEAD = 100;
export const HOTP_SYNC_WINDOW = 1000;
/** Bound of the learned TOTP drift and of the TOTP sync search, in seconds (SPEC §3: ±1 day). */
export const MAX_DRIFT_SECONDS = 86_400;

const FAIL = Object.freeze({ ok: false as const });

/** Drift bound in steps for a period: 2880 for 30 s, 1440 for 60 s. */
export function maxDriftSteps(period: TotpParams['period']): number {
  return MAX_DRIFT_SECONDS / period;
}

/** The RFC 6238 time step (T0 = 0) containing `timeMs`. */
export function totpStep(timeMs: number, period: TotpParams['period']): number {
  if (!Number.isFinite(timeMs) || timeMs < 0) throw new RangeError(`Invalid time: ${timeMs}.`);
  return Math.floor(timeMs / (period * 1000));
}

export function generateHotp(seed: Buffer, counter: number, params: CodeParams): string {
  assertCodeParams(params);
  return hotpCode(seed, counter, params);
}

export function generateTotp(seed: Buffer, timeMs: number, params: TotpParams): string {
  assertTotpParams(params);
  return hotpCode(seed, totpStep(timeMs, params.period), params);
}

export interface TotpVerifyInput {
  seed: Buffer;
  params: TotpParams;
  code: string;
  nowMs: number;
  /** Steps accepted either side of the centre, 0..10 (the resource's setting). */
  window?: number;
  /** The token's recorded drift in steps (0 for a new token). */
  drift?: number;
  /** Highest step already accepted for this token, null if none (replay protection). */
  lastUsedStep?: number | null;
}

/** Checks a TOTP code; on success returns the step to store as `lastUsedStep` and the new drift. */
export function verifyTotp(input: TotpVerifyInput): TotpVerifyResult {
  const { seed, params, code, nowMs, window = DEFAULT_TOTP_WINDOW, drift = 0, lastUsedStep = null } = input;
  assertTotpParams(params);
  assertRange('TOTP window', window, 0, MAX_TOTP_WINDOW);
  if (!Number.isSafeInteger(drift)) throw new RangeError(`Invalid TOTP drift: ${drift}.`);
  if (!isWellFormedCode(code, params)) return FAIL;
  const current = totpStep(nowMs, params.period);
  const bound = maxDriftSteps(params.period);
  const centre = current + clamp(drift, bound);
  // Ascending order: if two steps of the window share the code (1 in 10^digits), the lower one is
  // consumed, which leaves the higher one usable later.
  for (let step = centre - window; step <= centre + window; step++) {
    if (step < 0 || (lastUsedStep !== null && step <= lastUsedStep)) continue;
    if (codesEqual(code, hotpCode(seed, step, params))) {
      return { ok: true, step, newDrift: clamp(step - current, bound) };
    }
  }
  return FAIL;
}

export interface HotpVerifyInput {
  seed: Buffer;
  params: CodeParams;
  code: string;
  /** The next expected counter (last accepted + 1, or the initial counter). */
  counter: number;
  lookAhead?: number;
}

/** Checks an HOTP code; on success the caller stores `next` as the token's expected counter. */
export function verifyHotp(input: HotpVerifyInput): HotpVerifyResult {
  const { seed, params, code, counter, lookAhead = HOTP_LOOK_AHEAD } = input;
  assertCodeParams(params);
  assertCounter(counter);
  assertRange('HOTP look-ahead', lookAhead, 0, MAX_HOTP_LOOK_AHEAD);
  if (!isWellFormedCode(code, params)) return FAIL;
  for (let c = counter; c <= counter + lookAhead; c++) {
    if (codesEqual(code, hotpCode(seed, c, params))) return { ok: true, counter: c, next: c + 1 };
  }
  return FAIL;
}

/**
 * Finds two consecutive HOTP codes at counters (n, n+1) with fromCounter <= n <= fromCounter +
 * searchWindow and returns n + 2, the next expected counter; null when there is no such pair.
 * `fromCounter` is the token's next expected counter, so codes already used cannot resync.
 */
export function syncHotp(
  seed: Buffer, params: CodeParams, code1: string, code2: string, fromCounter: number, searchWindow = HOTP_SYNC_WINDOW,
): number | null {
  assertCodeParams(params);
  assertCounter(fromCounter);
  assertRange('HOTP sync window', searchWindow, 0, HOTP_SYNC_WINDOW);
  if (!isWellFormedCode(code1, params) || !isWellFormedCode(code2, params)) return null;
  // Each code is computed once: the "next" of one pair is the "first" of the following pair.
  let first = hotpCode(seed, fromCounter, params);
  for (let n = fromCounter; n <= fromCounter + searchWindow; n++) {
    const second = hotpCode(seed, n + 1, params);
    if (codesEqual(code1, first) && codesEqual(code2, second)) return n + 2;
    first = second;
  }
  return null;
}

/**
 * Finds two consecutive TOTP codes at steps (s, s+1) where s+1 lies within ±searchSteps of the
 * current step (default and maximum: ±1 day) and s > lastUsedStep. Returns the step to store as
 * `lastUsedStep` (s+1, so neither code can be replayed) and the drift (s+1 - current), or null.
 */
export function syncTotp(
  seed: Buffer, params: TotpParams, code1: string, code2: string, nowMs: number,
  searchSteps: number = maxDriftSteps(params.period), lastUsedStep: number | null = null,
): { step: number; drift: number } | null {
  assertTotpParams(params);
  assertRange('TOTP sync range', searchSteps, 0, maxDriftSteps(params.period));
  if (!isWellFormedCode(code1, params) || !isWellFormedCode(code2, params)) return null;
  const current = totpStep(nowMs, params.period);
  const low = Math.max(current - searchSteps - 1, lastUsedStep === null ? 0 : lastUsedStep + 1);
  let first = hotpCode(seed, low, params);
  for (let s = low; s + 1 <= current + searchSteps; s++) {
    const second = hotpCode(seed, s + 1, params);
    if (codesEqual(code1, first) && codesEqual(code2, second)) return { step: s + 1, drift: s + 1 - current };
    first = second;
  }
  return null;
}

function assertTotpParams(params: TotpParams): void {
  assertCodeParams(params);
  if (!TOTP_PERIODS.includes(params.period)) throw new RangeError(`Unsupported TOTP period: ${String(params.period)} s (30 or 60).`);
}

function assertRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${name} must be an integer from ${min} to ${max}; got ${value}.`);
}

function assertCounter(counter: number): void {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError(`Invalid HOTP counter: ${counter}.`);
}

function clamp(value: number, bound: number): number {
  return Math.max(-bound, Math.min(bound, value));
}
