import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseTokenPskc } from '../../src/tokens/import/pskc-parser';
import { ImportFormatError } from '../../src/tokens/import/import.types';
import { buildPskc, type SeedSpec } from '../helpers/token-files';
import { buildPreSharedPskc, RFC6030_FIGURE5, RFC6030_PRESHARED_KEY } from '../helpers/pskc-preshared';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/pskc/${name}.pskcxml`, import.meta.url), 'utf8');
const RFC_SEED = Buffer.from('12345678901234567890');

function refused(xml: string, password: string | { password?: string; preSharedKey?: string } | undefined, pattern: RegExp): void {
  assert.throws(() => parseTokenPskc(xml, password), (err: unknown) => {
    assert.ok(err instanceof ImportFormatError, `expected ImportFormatError, got ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

const specs: SeedSpec[] = [
  { serial: 'AC-1', seed: randomBytes(20), kind: 'totp', digits: 6, period: 60, algorithm: 'SHA256' },
  { serial: 'AC-2', seed: randomBytes(32), kind: 'hotp', digits: 8, counter: 17 },
  { serial: 'AC-3', seed: randomBytes(64), kind: 'totp', digits: 8, period: 30, algorithm: 'SHA512' },
];

describe('PSKC (RFC 6030) hardware token parser', () => {
  it('reads RFC 6030 Figure 3 (plain HOTP key with supplementary data)', () => {
    const [token, ...rest] = parseTokenPskc(fixture('rfc6030-figure3'));
    assert.equal(rest.length, 0);
    assert.deepEqual(token.seed, RFC_SEED);
    assert.deepEqual({ ...token, seed: undefined }, { serial: '987654321', kind: 'hotp', algorithm: 'SHA1', digits: 8, counter: 0, where: 'KeyPackage 1 (serial 987654321, line 4)', seed: undefined });
  });

  it('decrypts RFC 6030 Figure 7 (PBKDF2 key from the password "qwerty", AES-128-CBC, HMAC-SHA1)', () => {
    const [token] = parseTokenPskc(fixture('rfc6030-figure7'), 'qwerty');
    assert.equal(token.serial, '987654321');
    assert.deepEqual(token.seed, RFC_SEED);
    assert.equal(token.digits, 8);
  });

  it('asks for the password of a protected file, and says clearly when it is wrong', () => {
    refused(fixture('rfc6030-figure7'), undefined, /protected by a password: enter the password/);
    refused(fixture('rfc6030-figure7'), 'QWERTY', /password is wrong/);
    refused(buildPskc(specs, { password: 'right one' }), 'wrong one', /password is wrong/);
  });

  it('refuses a tampered ValueMAC or ciphertext, naming the KeyPackage and the element', () => {
    const xml = fixture('rfc6030-figure7');
    refused(xml.replace('LP6xMvjtypbfT9PdkJhBZ+D6O4w=', 'MP6xMvjtypbfT9PdkJhBZ+D6O4w='), 'qwerty', /^KeyPackage 1 \(serial 987654321, line \d+\): Key\/Data\/Secret\/ValueMAC does not match: the password is wrong or the file was altered\.$/);
    refused(xml.replace('oTvo+S22', 'oTvo+S23'), 'qwerty', /^KeyPackage 1 \(serial 987654321, line \d+\): Key\/Data\/Secret\/ValueMAC does not match/);
    refused(xml.replace(/<pskc:ValueMAC>[^<]*<\/pskc:ValueMAC>/, ''), 'qwerty', /KeyPackage 1 \(serial 987654321, line \d+\): Key\/Data\/Secret\/ValueMAC is missing/);
  });

  it('reads generated files: AES-256-CBC, HMAC-SHA256, PBKDF2-HMAC-SHA256, any namespace prefix, TOTP and HOTP', () => {
    for (const options of [{ password: 'pässwörd', cipher: 'aes256-cbc', mac: 'hmac-sha256', prf: 'hmac-sha256', prefix: 'ns1' } as const, { prefix: '' }, { password: 'x', prefix: 'pskc' }]) {
      const tokens = parseTokenPskc(buildPskc(specs, options), options.password);
      assert.deepEqual(tokens.map((t) => t.seed.toString('hex')), specs.map((s) => s.seed.toString('hex')));
      assert.deepEqual(
        tokens.map(({ seed: _seed, ...t }) => ({ ...t, where: t.where.replace(/, line \d+/, '') })),
        [
          { serial: 'AC-1', algorithm: 'SHA256', digits: 6, kind: 'totp', period: 60, where: 'KeyPackage 1 (serial AC-1)' },
          { serial: 'AC-2', algorithm: 'SHA1', digits: 8, kind: 'hotp', counter: 17, where: 'KeyPackage 2 (serial AC-2)' },
          { serial: 'AC-3', algorithm: 'SHA512', digits: 8, kind: 'totp', period: 30, where: 'KeyPackage 3 (serial AC-3)' },
        ],
      );
    }
  });

  it('names the KeyPackage and element of a bad value', () => {
    const xml = buildPskc(specs);
    refused(xml.replace('<pskc:ResponseFormat Length="8"', '<pskc:ResponseFormat Length="7"'), undefined, /^KeyPackage 2 \(serial AC-2, line \d+\): AlgorithmParameters\/ResponseFormat\/@Length "7" should be 6 or 8\.$/);
    refused(xml.replace('<pskc:PlainValue>60</pskc:PlainValue>', '<pskc:PlainValue>45</pskc:PlainValue>'), undefined, /^KeyPackage 1 \(serial AC-1, line \d+\): Key\/Data\/TimeInterval 45 should be 30 or 60 seconds\.$/);
    refused(xml.replace('<pskc:PlainValue>17</pskc:PlainValue>', '<pskc:PlainValue>-3</pskc:PlainValue>'), undefined, /^KeyPackage 2 \(serial AC-2, line \d+\): Key\/Data\/Counter\/PlainValue "-3" should be a whole number/);
    refused(xml.replace('pskc:hotp"', 'pskc:ocra"'), undefined, /^KeyPackage 2 \(serial AC-2, line \d+\): Key\/@Algorithm ".*ocra" is not HOTP or TOTP\.$/);
    refused(xml.replace('<pskc:SerialNo>AC-3</pskc:SerialNo>', '<pskc:SerialNo>AC 3</pskc:SerialNo>'), undefined, /^KeyPackage 3 \(serial AC 3, line \d+\): DeviceInfo\/SerialNo: the serial "AC 3" may only use/);
    refused(xml.replace('HMAC-SHA256', 'HMAC-MD5'), undefined, /^KeyPackage 1 \(serial AC-1, line \d+\): AlgorithmParameters\/Suite "HMAC-MD5" should be SHA1, SHA256 or SHA512\.$/);
    refused(xml.replace('<pskc:SerialNo>AC-3</pskc:SerialNo>', '<pskc:SerialNo>ac-1</pskc:SerialNo>'), undefined, /^KeyPackage 3 \(serial ac-1, line \d+\): the serial "ac-1" is already used by KeyPackage 1 \(serial AC-1, line \d+\)\.$/);
  });

  it('refuses RFC 6030 Figure 2, whose 32-bit secret is too short, naming the package by its Key Id', () => {
    refused(fixture('rfc6030-figure2'), undefined, /^KeyPackage 1 \(serial 12345678, line \d+\): Key\/Data\/Secret is shorter than 128 bits\.$/);
  });

  it('refuses XML that is not well formed with its line, a DOCTYPE, and a document that is not PSKC', () => {
    refused(buildPskc(specs).replace('</pskc:Manufacturer>', '</pskc:Manufacturr>'), undefined, /^The file is not well-formed XML: line 4, column \d+: unexpected close tag\.$/);
    refused(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><KeyContainer/>`, undefined, /DOCTYPE/);
    refused('<html><body/></html>', undefined, /not PSKC: its root element is not KeyContainer/);
  });

  it('skips PIN keys, accepts the older keyprov algorithm URIs, and refuses a file with no OTP key', () => {
    const totp = buildPskc(specs.slice(0, 1)).replace('urn:ietf:params:xml:ns:keyprov:pskc:totp', 'http://www.ietf.org/keyprov/pskc#totp');
    assert.equal(parseTokenPskc(totp)[0].kind, 'totp');
    const pinOnly = buildPskc(specs.slice(1, 2)).replace('pskc:hotp"', 'pskc:pin"');
    refused(pinOnly, undefined, /no HOTP or TOTP keys/);
  });

  it('decrypts RFC 6030 Figure 5 (pre-shared AES-128 key, MAC key encrypted with it, HMAC-SHA1)', () => {
    const [token, ...rest] = parseTokenPskc(RFC6030_FIGURE5, { preSharedKey: RFC6030_PRESHARED_KEY });
    assert.equal(rest.length, 0);
    assert.deepEqual(token.seed, RFC_SEED);
    assert.deepEqual([token.serial, token.kind, token.digits, token.counter], ['987654321', 'hotp', 8, 0]);
    // Only the credential the file declares is read: a password typed as well is ignored.
    assert.deepEqual(parseTokenPskc(RFC6030_FIGURE5, { password: 'ignored', preSharedKey: '12 34 56 78 90 12 34 56 78 90 12 34 56 78 90 12' })[0].seed, RFC_SEED);
    assert.deepEqual(parseTokenPskc(fixture('rfc6030-figure7'), { password: 'qwerty', preSharedKey: 'ignored' })[0].seed, RFC_SEED);
  });

  it('reads generated pre-shared-key files with AES-128, AES-192 and AES-256 keys, HMAC-SHA1 and HMAC-SHA256, encrypted counters', () => {
    for (const [bytes, mac] of [[16, 'hmac-sha1'], [24, 'hmac-sha1'], [32, 'hmac-sha256']] as const) {
      const key = randomBytes(bytes);
      const xml = buildPreSharedPskc(specs, key, { mac, encryptCounter: true });
      for (const typed of [key.toString('hex'), key.toString('hex').toUpperCase(), `0x${key.toString('hex')}`, key.toString('hex').replace(/(..)(?!$)/g, '$1:')]) {
        const tokens = parseTokenPskc(xml, { preSharedKey: typed });
        assert.deepEqual(tokens.map((t) => t.seed.toString('hex')), specs.map((s) => s.seed.toString('hex')), `AES-${bytes * 8}`);
        assert.deepEqual(tokens.map((t) => [t.serial, t.kind, t.algorithm, t.digits, t.period ?? t.counter]), [['AC-1', 'totp', 'SHA256', 6, 60], ['AC-2', 'hotp', 'SHA1', 8, 17], ['AC-3', 'totp', 'SHA512', 8, 30]]);
      }
    }
  });

  it('asks for the pre-shared key when the file needs one, and checks its form and length', () => {
    const xml = buildPreSharedPskc(specs, randomBytes(16), { keyName: 'Acme transport key 7' });
    refused(xml, undefined, /^This PSKC file is encrypted with a pre-shared key \("Acme transport key 7"\): enter that key, in hex, to import it\.$/);
    refused(xml, 'a password', /encrypted with a pre-shared key .*: enter that key/);
    refused(xml, { preSharedKey: '   ' }, /encrypted with a pre-shared key .*: enter that key/);
    refused(xml, { preSharedKey: 'not hex at all, not at all, no!!' }, /^The pre-shared key should be written in hex: 32, 48 or 64 hex digits/);
    refused(xml, { preSharedKey: 'abcd' }, /should be written in hex/);
    refused(xml, { preSharedKey: randomBytes(32).toString('hex') }, /^The pre-shared key has 32 bytes but the file is encrypted with AES-128, which needs a 16-byte key \(32 hex digits\): check the key\.$/);
    refused(buildPreSharedPskc(specs, randomBytes(32)), { preSharedKey: randomBytes(16).toString('hex') }, /has 16 bytes but the file is encrypted with AES-256, which needs a 32-byte key/);
  });

  it('refuses a wrong pre-shared key whole, naming the first KeyPackage, whichever way the MAC key fails', () => {
    refused(RFC6030_FIGURE5, { preSharedKey: '12345678901234567890123456789013' }, /^KeyPackage 1 \(serial 987654321, line \d+\): Key\/Data\/Secret\/ValueMAC (cannot be checked|does not match): the pre-shared key is wrong/);
    // A wrong key usually breaks the MAC key's padding; now and then (1 in ~256) the padding holds
    // and the garbage MAC key fails the first ValueMAC instead: both read the same.
    for (const bytes of [16, 32]) {
      const xml = buildPreSharedPskc(specs, randomBytes(bytes));
      for (let i = 0; i < 40; i++) {
        refused(xml, { preSharedKey: randomBytes(bytes).toString('hex') }, /^KeyPackage 1 \(serial AC-1, line \d+\): Key\/Data\/Secret\/ValueMAC (cannot be checked|does not match): the pre-shared key is wrong/);
      }
    }
  });

  it('checks each ValueMAC before decrypting: a tampered value or MAC refuses the file, naming its KeyPackage', () => {
    const key = randomBytes(16);
    const xml = buildPreSharedPskc(specs, key);
    const macs = [...xml.matchAll(/<ValueMAC>([^<]*)<\/ValueMAC>/g)].map((m) => m[1]);
    const second = macs[1];
    const flipped = Buffer.from(second, 'base64');
    flipped[0] ^= 1;
    refused(xml.replace(second, flipped.toString('base64')), { preSharedKey: key.toString('hex') }, /^KeyPackage 2 \(serial AC-2, line \d+\): Key\/Data\/Secret\/ValueMAC does not match: the pre-shared key is wrong or the file was altered\.$/);
    const cipherValues = [...xml.matchAll(/<xenc:CipherValue>([^<]*)<\/xenc:CipherValue>/g)].map((m) => m[1]);
    const third = Buffer.from(cipherValues[3], 'base64'); // [0] is the MAC key, then one per KeyPackage
    third[third.length - 1] ^= 1; // would break the padding if it were decrypted before the MAC check
    refused(xml.replace(cipherValues[3], third.toString('base64')), { preSharedKey: key.toString('hex') }, /^KeyPackage 3 \(serial AC-3, line \d+\): Key\/Data\/Secret\/ValueMAC does not match/);
    refused(xml.replace(/<ValueMAC>[^<]*<\/ValueMAC>/, ''), { preSharedKey: key.toString('hex') }, /^KeyPackage 1 .*ValueMAC is missing/);
  });

  it('still refuses files encrypted with a public key (RFC 6030 §6.3), saying why', () => {
    const xml = buildPreSharedPskc(specs, randomBytes(16)).replace(/<EncryptionKey>[\s\S]*?<\/EncryptionKey>/, '<EncryptionKey><ds:X509Data><ds:X509Certificate>MIIB</ds:X509Certificate></ds:X509Data></EncryptionKey>');
    refused(xml, { preSharedKey: randomBytes(16).toString('hex') }, /^KeyContainer\/EncryptionKey: the file is encrypted with a public key \(X509Data\), which is not supported/);
  });
});
