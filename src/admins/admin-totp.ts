/**
 * The console's own TOTP second factor for admins (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step).
 * Returns the matched time step so the caller can refuse replays atomically.
 */
import { authenticator } from 'otplib';

const STEP_SECONDS = 30;
const totp = authenticator.clone({ step: STEP_SECONDS, window: 1, digits: 6 });

export function generateAdminTotpSecret(): string {
  return totp.generateSecret(20); // 160 bits, base32
}

export function adminTotpUri(secret: string, email: string, issuer: string): string {
  return totp.keyuri(email, issuer, secret);
}

/** The accepted step for `code` at `now`, or null when it matches no step in the window. */
export function matchAdminTotp(secret: string, code: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp.clone({ epoch: now }).checkDelta(code, secret);
  return delta === null ? null : Math.floor(now / 1000 / STEP_SECONDS) + delta;
}
