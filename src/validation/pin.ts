/** Splits "PIN + code" or "code + PIN" (per resource) and checks the PIN (argon2id). */
import { verifyPassword } from '../lib/passwords';
import type { TokenCheckRow } from '../tokens/token.types';

/** Length of the code part for a token type: OATH digits, 6 for email/SMS; backup codes have no PIN. */
function codeLength(token: TokenCheckRow): number | undefined {
  if (token.digits) return token.digits;
  if (token.type === 'email' || token.type === 'sms') return 6;
  return undefined;
}

/**
 * Returns the code to check, or null when the PIN is wrong or missing (a wrong PIN counts as a
 * failure, SPEC §3). Tokens without a PIN take the input as it is.
 */
export async function splitPin(token: TokenCheckRow, input: string, position: 'before' | 'after'): Promise<{ code: string } | null> {
  if (!token.pinHash) return { code: input };
  const length = codeLength(token);
  if (!length || input.length <= length) return null;
  const code = position === 'before' ? input.slice(-length) : input.slice(0, length);
  const pin = position === 'before' ? input.slice(0, -length) : input.slice(length);
  return (await verifyPassword(token.pinHash, pin)) ? { code } : null;
}
