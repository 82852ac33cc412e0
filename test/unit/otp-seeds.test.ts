import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  base32Decode, base32Encode, generateSeed, otpauthUri, parseSeed, secretEncoding, type HotpParams, type TotpParams,
} from '../../src/otp/otp-engine';

const seed = Buffer.from('12345678901234567890');
const totp30: TotpParams = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 };
const hotp6: HotpParams = { kind: 'hotp', algorithm: 'SHA1', digits: 6 };

describe('OTP seeds, base32 and otpauth URIs', () => {
  it('SEC-02 seeds: 160 bits random by default, at least 128 bits on import', () => {
    const a = generateSeed();
    assert.equal(a.length, 20);
    assert.notDeepEqual(a, generateSeed());
    assert.equal(generateSeed(16).length, 16);
    assert.throws(() => generateSeed(15), /at least 16 bytes \(128 bits\)/);
    assert.throws(() => parseSeed('JBSWY3DPEHPK3PXP', 'base32'), /Seed too short: 10 bytes \(80 bits\); at least 16 bytes \(128 bits\)/);
    assert.throws(() => parseSeed('00'.repeat(15), 'hex'), /Seed too short: 15 bytes/);
    assert.equal(parseSeed('00'.repeat(16), 'hex').length, 16);
    assert.deepEqual(parseSeed('3132 3334 3536 3738 3930 3132 3334 3536 3738 3930', 'hex'), seed);
    assert.throws(() => parseSeed('0g'.repeat(16), 'hex'), /Invalid hex/);
    assert.throws(() => parseSeed('0'.repeat(33), 'hex'), /Invalid hex/);
    assert.deepEqual(parseSeed('gezd gnbv gy3t qojq gezd gnbv gy3t qojq', 'base32'), seed);
    assert.throws(() => parseSeed('AA'.repeat(200), 'hex'), /too long/);
  });

  it('base32 codec: RFC 4648 vectors, round-trip, tolerant input, clear errors', () => {
    const rfc: Array<[string, string]> = [['', ''], ['f', 'MY======'], ['fo', 'MZXQ===='], ['foo', 'MZXW6==='],
      ['foob', 'MZXW6YQ='], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI======']];
    for (const [plain, encoded] of rfc) {
      assert.equal(base32Encode(Buffer.from(plain), { padding: true }), encoded);
      assert.equal(base32Encode(Buffer.from(plain)), encoded.replace(/=/g, ''));
      assert.equal(base32Decode(encoded).toString(), plain);
      assert.equal(base32Decode(encoded.replace(/=/g, '').toLowerCase()).toString(), plain);
    }
    for (let n = 0; n <= 70; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n * 11) & 0xff));
      assert.deepEqual(base32Decode(base32Encode(bytes)), bytes, `length ${n}`);
    }
    assert.throws(() => base32Decode('MZXW1YQ'), /character "1" at position 5/);
    assert.throws(() => base32Decode('MZX'), /not a possible length/);
  });

  it('otpauth URI in the Google Authenticator key URI format', () => {
    assert.equal(otpauthUri({ account: 'alice@example.com', issuer: 'Acme Corp', seed, params: totp30 }),
      'otpauth://totp/Acme%20Corp:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30');
    const uri = new URL(otpauthUri({ account: 'bob', issuer: 'Acme', seed: generateSeed(32), params: { ...hotp6, algorithm: 'SHA256', digits: 8 }, counter: 7 }));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'hotp');
    assert.equal(uri.pathname, '/Acme:bob');
    assert.match(uri.searchParams.get('secret')!, /^[A-Z2-7]{52}$/, '256 bits, no padding');
    assert.equal(uri.searchParams.get('algorithm'), 'SHA256');
    assert.equal(uri.searchParams.get('digits'), '8');
    assert.equal(uri.searchParams.get('counter'), '7');
    assert.equal(uri.searchParams.get('period'), null);
    assert.throws(() => otpauthUri({ account: 'bob', issuer: 'A:B', seed, params: totp30 }), /cannot contain ":"/);
    assert.throws(() => otpauthUri({ account: 'bob', issuer: 'Acme', seed, params: hotp6 }), /counter/);
  });

});

describe('imported secret encoding: one rule for the API, CSV and the console', () => {
  it('reads prefixes, long even hex as hex, and everything else as base32', () => {
    assert.deepEqual(secretEncoding('hex:3132'), { encoding: 'hex', body: '3132' });
    assert.deepEqual(secretEncoding('BASE32:JBSWY3DP'), { encoding: 'base32', body: 'JBSWY3DP' });
    const hex = '3132333435363738393031323334353637383930';
    assert.equal(secretEncoding(hex).encoding, 'hex');
    assert.equal(secretEncoding('abcdefabcdefabcdefabcdefabcdefab').encoding, 'hex', 'hex without 0, 1, 8 or 9 is still hex');
    assert.equal(secretEncoding('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ').encoding, 'base32');
    assert.equal(secretEncoding(hex.slice(0, 31)).encoding, 'base32', 'odd length cannot be hex');
    assert.deepEqual(parseSeed(secretEncoding(hex).body, 'hex'), Buffer.from('12345678901234567890'));
  });
});
