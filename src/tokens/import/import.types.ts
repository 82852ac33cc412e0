/** What the hardware-token file parsers (CSV, PSKC) produce, and the error they refuse a file with. */
import type { OtpAlgorithm, OtpDigits, TotpPeriod } from '../../otp/otp.types';

export const IMPORT_FORMATS = ['csv', 'pskc'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** One OATH device read from a file; `where` names its place ("Line 17", "KeyPackage 3 (serial X)"). */
export interface ImportedToken {
  serial: string;
  seed: Buffer;
  kind: 'totp' | 'hotp';
  algorithm: OtpAlgorithm;
  digits: OtpDigits;
  /** TOTP only. */
  period?: TotpPeriod;
  /** HOTP only: the next counter the device will use. */
  counter?: number;
  where: string;
}

/** The file is refused whole; the message names the line or element and is safe to show (never a seed). */
export class ImportFormatError extends Error {}

/** A file this size is already a bulk delivery; more rows would be kept in memory at once by the worker. */
export const MAX_IMPORT_TOKENS = 100_000;

/** Same rule as serials typed in the console and the API, so an imported token can be found by its serial anywhere. */
export const SERIAL_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

export function serialProblem(serial: string): string | undefined {
  if (!serial) return 'the serial is empty';
  if (serial.length > 64) return 'the serial is longer than 64 characters';
  if (!SERIAL_PATTERN.test(serial)) return `the serial "${printable(serial)}" may only use letters, digits and . _ : -`;
  return undefined;
}

/** Serials are unique per tenant regardless of case (the database index is on lower(serial)). */
export function assertUniqueSerials(tokens: ImportedToken[]): void {
  const seen = new Map<string, ImportedToken>();
  for (const token of tokens) {
    const key = token.serial.toLowerCase();
    const first = seen.get(key);
    if (first) throw new ImportFormatError(`${token.where}: the serial "${token.serial}" is already used by ${first.where}.`);
    seen.set(key, token);
  }
}

/** Hash names as vendors write them: SHA1, sha-256, HMAC-SHA512, ...; undefined when unknown. */
export function normaliseAlgorithm(text: string): OtpAlgorithm | undefined {
  const name = text.trim().toUpperCase().replace(/^HMAC[-_]?/, '').replace(/[-_]/g, '');
  if (name === 'SHA1' || name === 'SHA256' || name === 'SHA512') return name;
  return undefined;
}

/** Echoes user input in messages without control characters or unbounded length. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

/** The largest file accepted, by the console and the API alike (a 10 000-key PSKC file is about 8 MB). */
export const IMPORT_MAX_BYTES = 20 * 1024 * 1024;

/**
 * The line a parser's place or message names ("Line 17: ...", "KeyPackage 3 (serial X, line 12)"),
 * or null when it names none (a problem with the file as a whole).
 */
export function lineOf(text: string): number | null {
  const match = /^Line (\d+)\b/.exec(text) ?? /^KeyPackage \d+ \([^)]*\bline (\d+)\)/.exec(text);
  return match ? Number(match[1]) : null;
}
