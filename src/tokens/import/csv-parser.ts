/**
 * Hardware tokens from CSV (pure: text in, tokens out). One device per line:
 *
 *   serial,secret,type,digits,period|counter[,algorithm]
 *
 * - `type` is totp or hotp; `digits` 6 or 8; the fifth column is the TOTP period (30 or 60,
 *   blank = 30) or the HOTP counter the device will use next (blank = 0); `algorithm` SHA1
 *   (default), SHA256 or SHA512.
 * - The secret is base32 or hex. A `hex:` or `base32:` prefix says which. Without one, a secret
 *   made only of hex digits, of even length and at least 32 characters (128 bits) is read as hex,
 *   anything else as base32. A random base32 secret that happens to use only A-F and 2-7 for 32
 *   characters is a one in 10^13 event; the prefix settles it for anyone who needs certainty.
 * - Blank lines and lines starting with `#` are skipped; so is a first line starting with
 *   "serial" (a header). Fields may be wrapped in double quotes; fields never contain commas.
 *
 * Any bad line refuses the whole file with an ImportFormatError naming the line. Messages never
 * echo a secret.
 */
import { parseSeed, secretEncoding } from '../../otp/seed';
import type { OtpDigits } from '../../otp/otp.types';
import { assertUniqueSerials, ImportFormatError, MAX_IMPORT_TOKENS, normaliseAlgorithm, printable, serialProblem, type ImportedToken } from './import.types';

const COLUMNS = 'serial,secret,type,digits,period|counter[,algorithm]';

export function parseTokenCsv(text: string): ImportedToken[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const tokens: ImportedToken[] = [];
  let seenData = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `Line ${i + 1}`;
    const fields = line.split(',').map(unquote);
    if (!seenData && /^serial$/i.test(fields[0])) {
      seenData = true;
      continue;
    }
    seenData = true;
    if (tokens.length >= MAX_IMPORT_TOKENS) throw new ImportFormatError(`${where}: the file has more than ${MAX_IMPORT_TOKENS} tokens; split it into smaller files.`);
    tokens.push(parseRow(fields, where));
  }
  if (tokens.length === 0) throw new ImportFormatError(`The file contains no tokens. Each line should read ${COLUMNS}.`);
  assertUniqueSerials(tokens);
  return tokens;
}

function unquote(field: string): string {
  const trimmed = field.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1).trim() : trimmed;
}

function parseRow(fields: string[], where: string): ImportedToken {
  const fail = (problem: string) => new ImportFormatError(`${where}: ${problem}`);
  if (fields.length < 5 || fields.length > 6) throw fail(`expected 5 or 6 columns (${COLUMNS}), found ${fields.length}.`);
  const [serial, secret, typeText, digitsText, fifth, algorithmText = ''] = fields;

  const serialIssue = serialProblem(serial);
  if (serialIssue) throw fail(`${serialIssue}.`);

  const kind = typeText.toLowerCase();
  if (kind !== 'totp' && kind !== 'hotp') throw fail(`the type "${printable(typeText)}" is not totp or hotp.`);

  if (digitsText !== '6' && digitsText !== '8') throw fail(`the digits "${printable(digitsText)}" should be 6 or 8.`);
  const digits = Number(digitsText) as OtpDigits;

  const algorithm = algorithmText === '' ? 'SHA1' : normaliseAlgorithm(algorithmText);
  if (!algorithm) throw fail(`the algorithm "${printable(algorithmText)}" should be SHA1, SHA256 or SHA512.`);

  const seed = readSecret(secret, fail);
  if (kind === 'totp') {
    if (fifth !== '' && fifth !== '30' && fifth !== '60') throw fail(`the TOTP period "${printable(fifth)}" should be 30 or 60 seconds.`);
    return { serial, seed, kind, algorithm, digits, period: fifth === '60' ? 60 : 30, where };
  }
  if (fifth !== '' && !/^\d{1,15}$/.test(fifth)) throw fail(`the HOTP counter "${printable(fifth)}" should be a whole number of 0 or more.`);
  return { serial, seed, kind, algorithm, digits, counter: fifth === '' ? 0 : Number(fifth), where };
}

function readSecret(text: string, fail: (problem: string) => ImportFormatError): Buffer {
  if (text === '') throw fail('the secret is empty.');
  const { encoding, body } = secretEncoding(text);
  try {
    return parseSeed(body, encoding);
  } catch (err) {
    // parseSeed's messages describe the problem without repeating the secret.
    const message = (err as Error).message;
    if (message.startsWith('Seed too short')) throw fail('the secret is shorter than 128 bits.');
    throw fail(`the secret is not valid ${encoding} (${message.replace(/\.$/, '')}).`);
  }
}
