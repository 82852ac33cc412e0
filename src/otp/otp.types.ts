/** Shared types of the pure OTP engine (RFC 4226 HOTP, RFC 6238 TOTP). No I/O anywhere in src/otp. */

export type OtpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';
export type OtpDigits = 6 | 8;
export type TotpPeriod = 30 | 60;

/** What the HMAC and truncation need; shared by both token kinds. */
export interface CodeParams {
  algorithm: OtpAlgorithm;
  digits: OtpDigits;
}

export interface TotpParams extends CodeParams {
  kind: 'totp';
  period: TotpPeriod;
}

export interface HotpParams extends CodeParams {
  kind: 'hotp';
}

export type OtpParams = TotpParams | HotpParams;

export type TotpVerifyResult = { ok: true; step: number; newDrift: number } | { ok: false };
export type HotpVerifyResult = { ok: true; counter: number; next: number } | { ok: false };

export const OTP_ALGORITHMS: readonly OtpAlgorithm[] = ['SHA1', 'SHA256', 'SHA512'];
export const OTP_DIGITS: readonly OtpDigits[] = [6, 8];
export const TOTP_PERIODS: readonly TotpPeriod[] = [30, 60];
