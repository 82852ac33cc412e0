/**
 * RFC 4648 base32, the alphabet authenticator apps use for secrets. Our own small codec because
 * otplib's base32 plugin wraps `thirty-two`, which is only a transitive dependency and silently
 * skips characters outside the alphabet; a mistyped secret must be refused, not shortened.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Upper-case base32; without `=` padding by default, as the otpauth URI format asks. */
export function base32Encode(data: Buffer, { padding = false } = {}): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1; // keep only the unread bits so `value` never overflows
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  if (padding) while (out.length % 8 !== 0) out += '=';
  return out;
}

/**
 * Decodes base32 typed or pasted by a person: case-insensitive, spaces, tabs, hyphens and
 * trailing `=` padding ignored. Throws an Error naming the problem for anything else.
 */
export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  // 1, 3 or 6 leftover characters cannot come from whole bytes: the text was cut or mistyped.
  if ([1, 3, 6].includes(clean.length % 8)) {
    throw new Error(`Invalid base32: ${clean.length} characters is not a possible length (a character is missing or extra).`);
  }
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (let i = 0; i < clean.length; i++) {
    const index = ALPHABET.indexOf(clean[i]);
    if (index < 0) throw new Error(`Invalid base32: character "${clean[i]}" at position ${i + 1} is not in A-Z, 2-7.`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return Buffer.from(bytes);
}
