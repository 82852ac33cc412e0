import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { authenticator } from 'otplib';
import { adminTotpUri, generateAdminTotpSecret, matchAdminTotp } from '../../src/admins/admin-totp';

const at = (ms: number) => authenticator.clone({ epoch: ms });

describe("console admins' TOTP", () => {
  const secret = generateAdminTotpSecret();
  const now = 1_800_000_015_000; // 15 s into a step
  const step = Math.floor(now / 30_000);

  it('uses a 160-bit base32 secret and a Google Authenticator URI', () => {
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.match(adminTotpUri(secret, 'a@example.com', 'MFA Console'), /^otpauth:\/\/totp\/MFA%20Console:a%40example\.com\?secret=[A-Z2-7]{32}&period=30&digits=6&algorithm=SHA1&issuer=MFA%20Console$/);
  });

  it('accepts exactly the current step and one step either side (SEC-04)', () => {
    for (const delta of [-1, 0, 1]) {
      const code = at((step + delta) * 30_000).generate(secret);
      assert.equal(matchAdminTotp(secret, code, now), step + delta, `delta ${delta}`);
    }
    for (const delta of [-2, 2]) {
      const code = at((step + delta) * 30_000).generate(secret);
      const expected = matchAdminTotp(secret, code, now);
      // A code two steps away is refused, unless by chance it equals a code inside the window.
      if (expected !== null) assert.notEqual(expected, step + delta);
    }
  });

  it('refuses malformed input before any computation', () => {
    assert.equal(matchAdminTotp(secret, '', now), null);
    assert.equal(matchAdminTotp(secret, '12345', now), null);
    assert.equal(matchAdminTotp(secret, '1234567', now), null);
    assert.equal(matchAdminTotp(secret, 'abcdef', now), null);
  });
});
