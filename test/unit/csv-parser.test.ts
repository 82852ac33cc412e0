import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenCsv } from '../../src/tokens/import/csv-parser';
import { ImportFormatError } from '../../src/tokens/import/import.types';

const B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // "12345678901234567890", 160 bits
const HEX = '3132333435363738393031323334353637383930';
const SEED = Buffer.from('12345678901234567890');

function refused(text: string, pattern: RegExp): void {
  assert.throws(() => parseTokenCsv(text), (err: unknown) => {
    assert.ok(err instanceof ImportFormatError, `expected ImportFormatError, got ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('CSV hardware token parser', () => {
  it('reads TOTP and HOTP lines with defaults, a header, comments, blank lines, CRLF and quotes', () => {
    const text = [
      'Serial,Secret,Type,Digits,Period|Counter,Algorithm',
      '# exported by the vendor tool',
      '',
      `HW-1,${B32},totp,6,30`,
      `HW-2,${HEX},hotp,8,42,SHA256`,
      `"HW-3","${B32.toLowerCase()}",TOTP,8,60,sha-512`,
      `HW-4,hex:${HEX.toUpperCase()},hotp,6,`,
      `HW-5,${B32},totp,6,,HMAC-SHA1`,
    ].join('\r\n');
    const tokens = parseTokenCsv(text);
    assert.equal(tokens.length, 5);
    assert.deepEqual(
      tokens.map(({ seed, ...rest }) => ({ ...rest, seed: seed.equals(SEED) })),
      [
        { serial: 'HW-1', kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30, where: 'Line 4', seed: true },
        { serial: 'HW-2', kind: 'hotp', algorithm: 'SHA256', digits: 8, counter: 42, where: 'Line 5', seed: true },
        { serial: 'HW-3', kind: 'totp', algorithm: 'SHA512', digits: 8, period: 60, where: 'Line 6', seed: true },
        { serial: 'HW-4', kind: 'hotp', algorithm: 'SHA1', digits: 6, counter: 0, where: 'Line 7', seed: true },
        { serial: 'HW-5', kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30, where: 'Line 8', seed: true },
      ],
    );
  });

  it('reads even-length hex of 32+ digits as hex, everything else as base32, and obeys a prefix', () => {
    // 32 characters that are valid in both alphabets: hex by the rule, base32 when prefixed.
    const both = 'ABCDEF234567ABCDEF234567ABCDEF23';
    const [asHex] = parseTokenCsv(`A,${both},totp,6,30`);
    assert.deepEqual(asHex.seed, Buffer.from(both, 'hex'));
    const [asBase32] = parseTokenCsv(`A,base32:${both},totp,6,30`);
    assert.equal(asBase32.seed.length, 20);
    // Base32 with the letters G-Z is never mistaken for hex.
    const [b32] = parseTokenCsv(`A,${B32},totp,6,30`);
    assert.deepEqual(b32.seed, SEED);
  });

  it('refuses a short secret naming the line', () => {
    refused(`# header comment\nHW-1,${B32},totp,6,30\nHW-2,JBSWY3DPEHPK3PXP,totp,6,30\n`, /^Line 3: the secret is shorter than 128 bits\.$/);
    refused('HW-1,hex:00112233445566778899aabbccddee,hotp,6,0', /^Line 1: the secret is shorter than 128 bits/);
  });

  it('names the line and the problem for each kind of bad field, never echoing the secret', () => {
    const cases: Array<[string, RegExp]> = [
      [`HW-1,${B32},totp,6`, /^Line 1: expected 5 or 6 columns .*found 4/],
      [`HW-1,${B32},totp,6,30,SHA1,extra`, /^Line 1: expected 5 or 6 columns/],
      [`HW 1,${B32},totp,6,30`, /^Line 1: the serial "HW 1" may only use letters, digits and \. _ : -/],
      [`,${B32},totp,6,30`, /^Line 1: the serial is empty/],
      [`HW-1,${B32},ocra,6,30`, /^Line 1: the type "ocra" is not totp or hotp/],
      [`HW-1,${B32},totp,7,30`, /^Line 1: the digits "7" should be 6 or 8/],
      [`HW-1,${B32},totp,6,45`, /^Line 1: the TOTP period "45" should be 30 or 60 seconds/],
      [`HW-1,${B32},hotp,6,-1`, /^Line 1: the HOTP counter "-1" should be a whole number/],
      [`HW-1,${B32},hotp,6,0,MD5`, /^Line 1: the algorithm "MD5" should be SHA1, SHA256 or SHA512/],
      [`HW-1,,totp,6,30`, /^Line 1: the secret is empty/],
      ['HW-1,GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ,totp,6,30', /^Line 1: the secret is not valid base32/],
      [`HW-1,hex:${HEX}zz,totp,6,30`, /^Line 1: the secret is not valid hex/],
    ];
    for (const [line, pattern] of cases) {
      refused(line, pattern);
      assert.throws(() => parseTokenCsv(line), (err: Error) => !err.message.includes(B32) && !err.message.includes(HEX));
    }
  });

  it('refuses duplicate serials, ignoring case, naming both lines', () => {
    refused(`HW-1,${B32},totp,6,30\nHW-2,${B32},totp,6,30\nhw-1,${B32},totp,6,30`, /^Line 3: the serial "hw-1" is already used by Line 1\./);
  });

  it('refuses a file without tokens', () => {
    refused('', /no tokens/);
    refused('serial,secret,type,digits,period\n# nothing\n\n', /no tokens/);
  });
});
