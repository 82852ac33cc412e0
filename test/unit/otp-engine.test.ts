import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  base32Decode, generateHotp, generateTotp, syncHotp, syncTotp, totpStep, verifyHotp, verifyTotp,
  type HotpParams, type OtpAlgorithm, type TotpParams,
} from '../../src/otp/otp-engine';

// Copies of the RFC vectors from the shared specification folder (shared/vectors).
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/vectors/${name}`, import.meta.url), 'utf8'));
const hotpVectors = fixture('rfc4226-hotp.json') as { secret_ascii: string; secret_base32: string; codes_by_counter: string[] };
const totpVectors = fixture('rfc6238-totp.json') as {
  period: 30; secrets_ascii: Record<'sha1' | 'sha256' | 'sha512', string>;
  vectors: Array<{ time: number; step_hex: string; sha1: string; sha256: string; sha512: string }>;
};

const seed = Buffer.from('12345678901234567890'); // fixed, so every case below is deterministic
const totp30: TotpParams = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 };
const hotp6: HotpParams = { kind: 'hotp', algorithm: 'SHA1', digits: 6 };
const NOW = 1_800_000_015_000; // 15 s into a 30 s step
const STEP = Math.floor(NOW / 30_000);
const codeAt = (step: number, params: TotpParams = totp30) => generateHotp(seed, step, params);
const check = (code: string, extra: Partial<Parameters<typeof verifyTotp>[0]> = {}) =>
  verifyTotp({ seed, params: totp30, code, nowMs: NOW, ...extra });

/** Independent RFC 4226 reference (node:crypto, 8-byte BigInt counter), to check otplib past 2^32. */
function referenceHotp(key: Buffer, counter: bigint, algorithm: string, digits: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(counter);
  const mac = createHmac(algorithm, key).update(message).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

describe('OTP engine', () => {
  it('SEC-01 HOTP matches RFC 4226 Appendix D for counters 0-9', () => {
    const key = Buffer.from(hotpVectors.secret_ascii, 'ascii');
    assert.deepEqual(base32Decode(hotpVectors.secret_base32), key);
    hotpVectors.codes_by_counter.forEach((code, counter) => {
      assert.equal(generateHotp(key, counter, hotp6), code, `counter ${counter}`);
    });
  });

  it('SEC-01 TOTP matches RFC 6238 Appendix B for SHA1/256/512, 8 digits, every time including year 2603', () => {
    for (const algo of ['sha1', 'sha256', 'sha512'] as const) {
      const key = Buffer.from(totpVectors.secrets_ascii[algo], 'ascii');
      const params: TotpParams = { kind: 'totp', algorithm: algo.toUpperCase() as OtpAlgorithm, digits: 8, period: totpVectors.period };
      for (const v of totpVectors.vectors) {
        const ms = v.time * 1000;
        assert.equal(totpStep(ms, 30).toString(16).toUpperCase().padStart(16, '0'), v.step_hex, `step at ${v.time}`);
        assert.equal(generateTotp(key, ms, params), v[algo], `${algo} at ${v.time}`);
        assert.deepEqual(verifyTotp({ seed: key, params, code: v[algo], nowMs: ms, window: 0 }),
          { ok: true, step: parseInt(v.step_hex, 16), newDrift: 0 });
        // 6 digits is the same truncated value modulo 10^6: the last six digits of the 8-digit code.
        assert.equal(generateTotp(key, ms, { ...params, digits: 6 }), v[algo].slice(2));
      }
    }
  });

  it('SEC-01 counters beyond 2^32 are encoded on 8 bytes (checked against node:crypto)', () => {
    for (const counter of [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
      for (const algorithm of ['SHA1', 'SHA256', 'SHA512'] as const) {
        const key = Buffer.from(totpVectors.secrets_ascii[algorithm.toLowerCase() as 'sha1'], 'ascii');
        assert.equal(generateHotp(key, counter, { algorithm, digits: 8 }),
          referenceHotp(key, BigInt(counter), algorithm.toLowerCase(), 8), `${algorithm} ${counter}`);
      }
    }
    assert.throws(() => generateHotp(seed, 2 ** 53, hotp6), RangeError);
    assert.throws(() => generateHotp(seed, -1, hotp6), RangeError);
  });

  it('SEC-04 window 1 accepts steps -1, 0, +1 and refuses -2, +2', () => {
    for (const d of [-1, 0, 1]) assert.deepEqual(check(codeAt(STEP + d)), { ok: true, step: STEP + d, newDrift: d });
    for (const d of [-2, 2]) assert.deepEqual(check(codeAt(STEP + d)), { ok: false });
  });

  it('SEC-04 window 0 accepts the current step only', () => {
    assert.deepEqual(check(codeAt(STEP), { window: 0 }), { ok: true, step: STEP, newDrift: 0 });
    for (const d of [-1, 1]) assert.deepEqual(check(codeAt(STEP + d), { window: 0 }), { ok: false });
  });

  it('SEC-04 window 10 accepts -10..+10 and refuses -11, +11; 11 is not a valid window', () => {
    for (const d of [-10, -5, 5, 10]) assert.equal(check(codeAt(STEP + d), { window: 10 }).ok, true, `d ${d}`);
    for (const d of [-11, 11]) assert.equal(check(codeAt(STEP + d), { window: 10 }).ok, false, `d ${d}`);
    assert.throws(() => check(codeAt(STEP), { window: 11 }), RangeError);
    assert.throws(() => check(codeAt(STEP), { window: -1 }), RangeError);
  });

  it('SEC-04 a 30 s code is not accepted 60 s later (CVE-2024-7318): exact validity intervals', () => {
    const start = STEP * 30_000;
    const code = codeAt(STEP);
    const at = (ms: number, window: number) => verifyTotp({ seed, params: totp30, code, nowMs: ms, window }).ok;
    // window 0: exactly its own 30 s
    assert.equal(at(start, 0), true);
    assert.equal(at(start + 29_999, 0), true);
    assert.equal(at(start - 1, 0), false);
    assert.equal(at(start + 30_000, 0), false);
    assert.equal(at(start + 60_000, 0), false);
    // window 1: one step either side, never two
    assert.equal(at(start - 30_000, 1), true);
    assert.equal(at(start + 59_999, 1), true);
    assert.equal(at(start - 30_001, 1), false);
    assert.equal(at(start + 60_000, 1), false);
  });

  it('SEC-04 60 s period: steps are 60 s and the window counts in 60 s steps', () => {
    const totp60: TotpParams = { ...totp30, period: 60 };
    const step = totpStep(NOW, 60);
    assert.equal(generateTotp(seed, NOW, totp60), generateHotp(seed, Math.floor(NOW / 60_000), totp60));
    const code = codeAt(step, totp60);
    const at = (ms: number) => verifyTotp({ seed, params: totp60, code, nowMs: ms, window: 1 });
    assert.deepEqual(at(NOW + 60_000), { ok: true, step, newDrift: -1 });
    assert.deepEqual(at(NOW + 120_000), { ok: false });
    assert.deepEqual(at(NOW - 120_000), { ok: false });
  });

  it('SEC-04 drift is learned only on success and recentres the window', () => {
    const learned = check(codeAt(STEP + 1));
    assert.deepEqual(learned, { ok: true, step: STEP + 1, newDrift: 1 });
    // A genuine code just outside the window fails and reports no drift to store.
    assert.deepEqual(check(codeAt(STEP + 2)), { ok: false });
    // With drift 3 the accepted steps are STEP+2..STEP+4: the old centre is outside.
    assert.deepEqual(check(codeAt(STEP + 4), { drift: 3 }), { ok: true, step: STEP + 4, newDrift: 4 });
    assert.deepEqual(check(codeAt(STEP + 2), { drift: 3 }), { ok: true, step: STEP + 2, newDrift: 2 });
    assert.deepEqual(check(codeAt(STEP), { drift: 3 }), { ok: false });
    assert.deepEqual(check(codeAt(STEP + 5), { drift: 3 }), { ok: false });
  });

  it('SEC-04 drift is bounded to ±1 day of steps (2880 at 30 s, 1440 at 60 s)', () => {
    assert.deepEqual(check(codeAt(STEP + 2880), { drift: 99_999, window: 0 }), { ok: true, step: STEP + 2880, newDrift: 2880 });
    assert.deepEqual(check(codeAt(STEP + 2881), { drift: 2880, window: 1 }), { ok: true, step: STEP + 2881, newDrift: 2880 });
    assert.deepEqual(check(codeAt(STEP + 2882), { drift: 2880, window: 1 }), { ok: false });
    assert.deepEqual(check(codeAt(STEP - 2880), { drift: -5000, window: 0 }), { ok: true, step: STEP - 2880, newDrift: -2880 });
    const totp60: TotpParams = { ...totp30, period: 60 };
    const s60 = totpStep(NOW, 60);
    assert.deepEqual(verifyTotp({ seed, params: totp60, code: codeAt(s60 + 1440, totp60), nowMs: NOW, window: 0, drift: 2000 }),
      { ok: true, step: s60 + 1440, newDrift: 1440 });
  });

  it('SEC-05 replay: the same step is refused, and an earlier step after a later success', () => {
    const first = check(codeAt(STEP));
    assert.ok(first.ok);
    assert.deepEqual(check(codeAt(STEP), { lastUsedStep: first.step }), { ok: false }, 'same code again');
    assert.deepEqual(check(codeAt(STEP - 1), { lastUsedStep: first.step }), { ok: false }, 'older code after newer success');
    assert.deepEqual(check(codeAt(STEP + 1), { lastUsedStep: first.step }), { ok: true, step: STEP + 1, newDrift: 1 });
  });

  it('SEC-05 replay: an HOTP counter is accepted once, older counters never', () => {
    const first = verifyHotp({ seed, params: hotp6, code: generateHotp(seed, 7, hotp6), counter: 5 });
    assert.deepEqual(first, { ok: true, counter: 7, next: 8 });
    assert.deepEqual(verifyHotp({ seed, params: hotp6, code: generateHotp(seed, 7, hotp6), counter: 8 }), { ok: false });
    assert.deepEqual(verifyHotp({ seed, params: hotp6, code: generateHotp(seed, 6, hotp6), counter: 8 }), { ok: false });
  });

  it('SEC-06 HOTP look-ahead: 10 ahead of the expected counter accepted, 11 ahead refused', () => {
    const at = (c: number) => verifyHotp({ seed, params: hotp6, code: generateHotp(seed, c, hotp6), counter: 100 });
    assert.deepEqual(at(100), { ok: true, counter: 100, next: 101 });
    assert.deepEqual(at(110), { ok: true, counter: 110, next: 111 });
    assert.deepEqual(at(111), { ok: false });
    assert.deepEqual(at(99), { ok: false });
    const exact = (c: number) => verifyHotp({ seed, params: hotp6, code: generateHotp(seed, c, hotp6), counter: 100, lookAhead: 0 });
    assert.equal(exact(100).ok, true);
    assert.equal(exact(101).ok, false);
  });

  it('SEC-06 HOTP resync from two consecutive codes far beyond the look-ahead', () => {
    const c = (n: number) => generateHotp(seed, n, hotp6);
    assert.equal(verifyHotp({ seed, params: hotp6, code: c(500), counter: 0 }).ok, false);
    assert.equal(syncHotp(seed, hotp6, c(500), c(501), 0), 502);
    assert.equal(syncHotp(seed, hotp6, c(1000), c(1001), 0), 1002, 'search window 1000 is inclusive');
    assert.equal(syncHotp(seed, hotp6, c(1001), c(1002), 0), null, 'beyond the search window');
    assert.equal(syncHotp(seed, hotp6, c(500), c(502), 0), null, 'not consecutive');
    assert.equal(syncHotp(seed, hotp6, c(501), c(500), 0), null, 'wrong order');
    assert.equal(syncHotp(seed, hotp6, c(500), c(501), 600), null, 'codes already behind the counter');
    assert.equal(syncHotp(seed, hotp6, c(500), 'abcdef', 0), null);
  });

  it('SEC-06 TOTP resync finds the drift within ±1 day from two consecutive codes', () => {
    const sync = (a: number, b: number, last: number | null = null) => syncTotp(seed, totp30, codeAt(a), codeAt(b), NOW, undefined, last);
    assert.deepEqual(sync(STEP + 239, STEP + 240), { step: STEP + 240, drift: 240 });
    assert.deepEqual(sync(STEP - 2881, STEP - 2880), { step: STEP - 2880, drift: -2880 });
    assert.deepEqual(sync(STEP + 2879, STEP + 2880), { step: STEP + 2880, drift: 2880 });
    assert.equal(sync(STEP + 2880, STEP + 2881), null, 'more than a day ahead');
    assert.equal(sync(STEP - 2882, STEP - 2881), null, 'more than a day behind');
    assert.equal(sync(STEP + 10, STEP + 12), null, 'not consecutive');
    assert.equal(sync(STEP + 10, STEP + 11, STEP + 10), null, 'at or before the last used step');
    // The learned drift then centres normal verification.
    assert.equal(check(codeAt(STEP + 241), { drift: 240, lastUsedStep: STEP + 240 }).ok, true);
    assert.throws(() => syncTotp(seed, totp30, codeAt(STEP), codeAt(STEP + 1), NOW, 2881), RangeError);
  });

  it('malformed codes are refused before any HMAC is computed', () => {
    // A seed that throws if touched proves no computation happens for malformed input.
    const poisoned = { toString() { throw new Error('seed used'); } } as unknown as Buffer;
    const totp8: TotpParams = { ...totp30, digits: 8 };
    for (const code of ['', '12345', '1234567', 'abcdef', '12345a', ' 12345', '12345\n', '１２３４５６', '-12345', '1e+05']) {
      assert.deepEqual(verifyTotp({ seed: poisoned, params: totp30, code, nowMs: NOW }), { ok: false }, JSON.stringify(code));
      assert.deepEqual(verifyHotp({ seed: poisoned, params: hotp6, code, counter: 0 }), { ok: false });
      assert.equal(syncHotp(poisoned, hotp6, code, '123456', 0), null);
    }
    assert.deepEqual(verifyTotp({ seed: poisoned, params: totp8, code: '123456', nowMs: NOW }), { ok: false });
    assert.deepEqual(verifyTotp({ seed: poisoned, params: totp30, code: 123456 as unknown as string, nowMs: NOW }), { ok: false });
  });

  it('unsupported parameters are programming errors, not refusals', () => {
    assert.throws(() => generateTotp(seed, NOW, { ...totp30, period: 45 as 30 }), /period/);
    assert.throws(() => generateHotp(seed, 0, { algorithm: 'MD5' as 'SHA1', digits: 6 }), /algorithm/);
    assert.throws(() => generateHotp(seed, 0, { algorithm: 'SHA1', digits: 7 as 6 }), /digits/);
    assert.throws(() => check(codeAt(STEP), { drift: 1.5 }), RangeError);
  });
});
