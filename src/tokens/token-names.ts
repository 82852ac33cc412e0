/**
 * Readable default names for tokens a user enrols without naming them (issue 15 §6): the kind and
 * the last characters of the serial ("Authenticator app 7QK2"), so two of a kind tell apart and
 * the name matches what the console shows; a passkey is named after the browser and system it
 * lives in ("Passkey on Chrome on Android"), which is how a person recognises it.
 */
import { summariseUserAgent } from '../environments/user-agent';
import type { TokenType } from './token.types';

const KIND: Record<TokenType, string> = {
  totp: 'Authenticator app',
  hotp: 'Counter-based app',
  hardware: 'Hardware token',
  email: 'Email code',
  sms: 'SMS code',
  backup_codes: 'Backup codes',
  webauthn: 'Security key',
};

/** The end of a serial after its type prefix ("TOTP-7F3QK2AB" gives "K2AB"). */
export function shortSerial(serial: string): string {
  return serial.replace(/^[A-Z]+-/, '').slice(-4);
}

export function defaultTokenName(type: TokenType, serial: string): string {
  return `${KIND[type] ?? 'Token'} ${shortSerial(serial)}`;
}

/**
 * A WebAuthn credential: a passkey kept by this device (`platform` attachment) is named after the
 * browser and system; a roaming security key (or an unknown attachment) like any other token.
 */
export function defaultWebauthnName(serial: string, attachment: unknown, userAgent: string | undefined): string {
  if (attachment === 'platform') {
    const where = summariseUserAgent(userAgent);
    return where === 'Unknown browser' ? `Passkey ${shortSerial(serial)}` : `Passkey on ${where}`;
  }
  return defaultTokenName('webauthn', serial);
}
