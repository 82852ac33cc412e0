/**
 * Codes from an independent generator: the OATH Toolkit's `oathtool` (Debian package `oathtool`,
 * installed by .ci/run). Our own engine is never used to compute these codes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type Algorithm = 'SHA1' | 'SHA256' | 'SHA512';

async function oathtool(args: string[]): Promise<string> {
  const { stdout } = await run('oathtool', args, { timeout: 10_000 });
  return stdout.trim();
}

/** The TOTP code of `hexSeed` at `atSec` (unix seconds). */
export function totpCode(hexSeed: string, o: { algorithm: Algorithm; digits: 6 | 8; period: 30 | 60; atSec: number }): Promise<string> {
  return oathtool([`--totp=${o.algorithm}`, `--digits=${o.digits}`, `--time-step-size=${o.period}s`, `--now=@${o.atSec}`, hexSeed]);
}

/**
 * The HOTP code of `hexSeed` at `counter`. oathtool's `--hotp` mode is HMAC-SHA1 only; for
 * SHA-256/512 we use its TOTP mode at the time `counter × 30 s`, which by RFC 6238 §4 is exactly
 * HOTP with that hash over the counter value T = counter.
 */
export function hotpCode(hexSeed: string, o: { algorithm: Algorithm; digits: 6 | 8; counter: number }): Promise<string> {
  if (o.algorithm === 'SHA1') return oathtool(['--hotp', `--counter=${o.counter}`, `--digits=${o.digits}`, hexSeed]);
  return totpCode(hexSeed, { algorithm: o.algorithm, digits: o.digits, period: 30, atSec: o.counter * 30 });
}

export const nowSec = (): number => Math.floor(Date.now() / 1000);
