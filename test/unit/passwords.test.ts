import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, passwordProblem, verifyPassword } from '../../src/lib/passwords';
import { safeEqual } from '../../src/lib/crypto';

describe('passwords (SEC-16)', () => {
  it('hashes with argon2id and verifies', async () => {
    const hash = await hashPassword('a long passphrase');
    assert.match(hash, /^\$argon2id\$/);
    assert.equal(await verifyPassword(hash, 'a long passphrase'), true);
    assert.equal(await verifyPassword(hash, 'a long passphrasE'), false);
  });

  it('answers false for a missing hash (after doing the same work)', async () => {
    assert.equal(await verifyPassword(null, 'anything'), false);
    assert.equal(await verifyPassword('not-a-hash', 'anything'), false);
  });

  it('needs 8 characters, allows long ones without composition rules, refuses common ones', () => {
    assert.match(passwordProblem('short') ?? '', /at least 8/);
    assert.equal(passwordProblem('all lower case words'), null);
    assert.equal(passwordProblem('x'.repeat(64) + 'y'), null);
    assert.match(passwordProblem('password123') ?? '', /too common/);
    assert.match(passwordProblem('aaaaaaaaaa') ?? '', /too common/);
    assert.match(passwordProblem('x'.repeat(129)) ?? '', /at most 128/);
  });

  it('compares secrets in constant time without leaking length (SEC-24)', () => {
    assert.equal(safeEqual('abc', 'abc'), true);
    assert.equal(safeEqual('abc', 'abd'), false);
    assert.equal(safeEqual('abc', 'abcd'), false);
  });
});
