/**
 * Hardware tokens from PSKC, RFC 6030 (pure: XML text and the admin's optional password or
 * pre-shared key in, tokens out).
 *
 * Per KeyPackage: the serial is DeviceInfo/SerialNo (else the Key's Id); Key/@Algorithm is the
 * HOTP or TOTP URN (`urn:ietf:params:xml:ns:keyprov:pskc:hotp`, `...#totp`, the older
 * `http://www.ietf.org/keyprov/pskc#hotp` and the like); PIN keys (`...:pin`) describe the
 * device's own PIN and are skipped. Digits come from AlgorithmParameters/ResponseFormat/@Length,
 * the hash from AlgorithmParameters/Suite (default SHA1), the secret from Data/Secret (PlainValue
 * in base64, or EncryptedValue + ValueMAC), the HOTP counter from Data/Counter, the TOTP period
 * from Data/TimeInterval (default 30). Any problem refuses the whole file, naming the KeyPackage
 * (1-based index, serial and line) and the element.
 */
import { MAX_SEED_BYTES, MIN_SEED_BYTES } from '../../otp/seed';
import type { OtpAlgorithm, OtpDigits } from '../../otp/otp.types';
import { assertUniqueSerials, ImportFormatError, MAX_IMPORT_TOKENS, normaliseAlgorithm, printable, serialProblem, type ImportedToken } from './import.types';
import { decodeBase64 } from './pskc-crypto';
import { createDecryptor, type Decryptor, type PskcCredentials } from './pskc-encryption';
import { attr, child, children, path, readKeyContainer, textOf, type XmlElement } from './pskc-xml';

export type { PskcCredentials } from './pskc-encryption';

/** `credentials` as a string is a password (the form before pre-shared keys were supported). */
export function parseTokenPskc(xml: string, credentials: PskcCredentials | string = {}): ImportedToken[] {
  const container = readKeyContainer(xml);
  const packages = children(container, 'KeyPackage');
  if (packages.length > MAX_IMPORT_TOKENS) throw new ImportFormatError(`The file has more than ${MAX_IMPORT_TOKENS} KeyPackages; split it into smaller files.`);
  const decryptor = createDecryptor(container, typeof credentials === 'string' ? { password: credentials } : credentials);
  const tokens: ImportedToken[] = [];
  packages.forEach((pkg, i) => {
    const token = readPackage(pkg, i + 1, decryptor);
    if (token) tokens.push(token);
  });
  if (tokens.length === 0) throw new ImportFormatError('The file contains no HOTP or TOTP keys (no KeyPackage with a Key of those algorithms).');
  assertUniqueSerials(tokens);
  return tokens;
}

type Kind = 'hotp' | 'totp' | 'pin';

/** The last `:` or `#` segment of a keyprov algorithm identifier. */
function kindOf(algorithm: string): Kind | undefined {
  const match = /keyprov.*[:#](hotp|totp|pin)$/i.exec(algorithm.trim());
  return match ? (match[1].toLowerCase() as Kind) : undefined;
}

function readPackage(pkg: XmlElement, index: number, decryptor: Decryptor): ImportedToken | undefined {
  const key = child(pkg, 'Key');
  // Vendors that leave out DeviceInfo usually put the serial in the Key's Id.
  const serial = textOf(path(pkg, 'DeviceInfo/SerialNo')) || attr(key, 'Id') || '';
  const where = `KeyPackage ${index} (${serial ? `serial ${printable(serial)}, ` : ''}line ${pkg.line})`;
  const fail = (message: string) => new ImportFormatError(`${where}: ${message}`);
  if (!key) throw fail('has no Key element.');
  if (children(pkg, 'Key').length > 1) throw fail('has more than one Key element.');

  const algorithm = attr(key, 'Algorithm') ?? '';
  const kind = kindOf(algorithm);
  if (kind === 'pin') return undefined;
  if (!kind) throw fail(`Key/@Algorithm "${printable(algorithm)}" is not HOTP or TOTP.`);

  const serialIssue = serialProblem(serial);
  if (serialIssue) throw fail(`DeviceInfo/SerialNo: ${serialIssue}.`);

  const params = child(key, 'AlgorithmParameters');
  const format = child(params, 'ResponseFormat');
  const encoding = attr(format, 'Encoding');
  if (encoding && encoding.toUpperCase() !== 'DECIMAL') throw fail(`AlgorithmParameters/ResponseFormat/@Encoding "${printable(encoding)}" is not supported (only DECIMAL).`);
  const lengthText = attr(format, 'Length') ?? '6';
  if (lengthText !== '6' && lengthText !== '8') throw fail(`AlgorithmParameters/ResponseFormat/@Length "${printable(lengthText)}" should be 6 or 8.`);
  const digits = Number(lengthText) as OtpDigits;

  const suite = textOf(child(params, 'Suite'));
  const hash: OtpAlgorithm | undefined = suite ? normaliseAlgorithm(suite.slice(suite.lastIndexOf('#') + 1)) : 'SHA1';
  if (!hash) throw fail(`AlgorithmParameters/Suite "${printable(suite ?? '')}" should be SHA1, SHA256 or SHA512.`);

  const data = child(key, 'Data');
  const seed = readValue(child(data, 'Secret'), 'Key/Data/Secret', decryptor, fail);
  if (!seed) throw fail('Key/Data/Secret is missing.');
  if (seed.length < MIN_SEED_BYTES) throw fail('Key/Data/Secret is shorter than 128 bits.');
  if (seed.length > MAX_SEED_BYTES) throw fail(`Key/Data/Secret is longer than ${MAX_SEED_BYTES} bytes.`);
  const base = { serial, seed, algorithm: hash, digits, where };

  if (kind === 'totp') {
    const time = readNumber(child(data, 'Time'), 'Key/Data/Time', decryptor, fail);
    // Our TOTP engine counts steps from the Unix epoch (RFC 6238's default T0).
    if (time !== undefined && time !== 0) throw fail('Key/Data/Time (T0) must be 0: tokens counting from another start time are not supported.');
    const period = readNumber(child(data, 'TimeInterval'), 'Key/Data/TimeInterval', decryptor, fail) ?? 30;
    if (period !== 30 && period !== 60) throw fail(`Key/Data/TimeInterval ${period} should be 30 or 60 seconds.`);
    return { ...base, kind, period };
  }
  const counter = readNumber(child(data, 'Counter'), 'Key/Data/Counter', decryptor, fail) ?? 0;
  return { ...base, kind, counter };
}

type Fail = (message: string) => ImportFormatError;

/** Bytes of a value element: PlainValue (base64 for binary values) or a decrypted EncryptedValue. */
function readValue(node: XmlElement | undefined, where: string, decryptor: Decryptor, fail: Fail): Buffer | undefined {
  if (!node) return undefined;
  const plain = textOf(child(node, 'PlainValue'));
  if (plain !== undefined) {
    const bytes = decodeBase64(plain);
    if (!bytes) throw fail(`${where}/PlainValue is not valid base64.`);
    return bytes;
  }
  const encrypted = child(node, 'EncryptedValue');
  if (!encrypted) throw fail(`${where} has neither PlainValue nor EncryptedValue.`);
  try {
    return decryptor.decrypt(encrypted, child(node, 'ValueMAC'), where);
  } catch (err) {
    if (err instanceof ImportFormatError) throw fail(err.message);
    throw err;
  }
}

/** An integer value (Counter, Time, TimeInterval): decimal text in PlainValue, big-endian bytes when encrypted. */
function readNumber(node: XmlElement | undefined, where: string, decryptor: Decryptor, fail: Fail): number | undefined {
  if (!node) return undefined;
  const plain = textOf(child(node, 'PlainValue'));
  if (plain !== undefined) {
    if (!/^\d{1,15}$/.test(plain)) throw fail(`${where}/PlainValue "${printable(plain)}" should be a whole number of 0 or more.`);
    return Number(plain);
  }
  // An encrypted xs:long is 8 big-endian bytes; beyond 48 bits it is no real counter or time.
  const bytes = readValue(node, where, decryptor, fail)!;
  const first = bytes.findIndex((b) => b !== 0);
  if (first < 0) return 0;
  const digits = bytes.subarray(first);
  if (digits.length > 6) throw fail(`${where}: the encrypted number is too large.`);
  return digits.readUIntBE(0, digits.length);
}
