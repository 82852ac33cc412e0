/**
 * Google Authenticator "Key Uri Format" (github.com/google/google-authenticator/wiki/Key-Uri-Format):
 * otpauth://TYPE/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=..&digits=..&period=..|counter=..
 * The URI contains the seed: build it only at enrolment, never log it (SEC-03, SEC-23).
 */
import { base32Encode } from './base32';
import { assertCodeParams } from './hotp';
import type { OtpParams } from './otp.types';

export interface OtpauthUriInput {
  /** The account part of the label, e.g. the user's login or email. */
  account: string;
  /** Shown by the app above the code; also the label prefix. */
  issuer: string;
  seed: Buffer;
  params: OtpParams;
  /** HOTP only: the next counter the server expects (the app's first code). */
  counter?: number;
}

export function otpauthUri({ account, issuer, seed, params, counter }: OtpauthUriInput): string {
  assertCodeParams(params);
  // The colon separates issuer from account in the label; apps split on the first one.
  if (issuer.includes(':')) throw new Error('The issuer of an otpauth URI cannot contain ":".');
  if (account.trim() === '' || issuer.trim() === '') throw new Error('An otpauth URI needs an issuer and an account name.');
  const query = new URLSearchParams({
    secret: base32Encode(seed), // unpadded: some apps refuse '='
    issuer,
    algorithm: params.algorithm,
    digits: String(params.digits),
  });
  if (params.kind === 'totp') {
    query.set('period', String(params.period));
  } else {
    if (counter === undefined || !Number.isSafeInteger(counter) || counter < 0) {
      throw new RangeError('An HOTP otpauth URI needs a non-negative counter.');
    }
    query.set('counter', String(counter));
  }
  // URLSearchParams encodes spaces as '+', which apps show literally in the label; use %20.
  const search = query.toString().replace(/\+/g, '%20');
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  return `otpauth://${params.kind}/${label}?${search}`;
}
