import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSecretBox } from '../../src/lib/secret-box';

describe('secret box (AES-256-GCM, SEC-03)', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('round-trips and never contains the plain text', () => {
    const box = createSecretBox(new Map([['k1', k1]]), 'k1');
    const plain = Buffer.from('JBSWY3DPEHPK3PXP');
    const sealed = box.encrypt(plain, 'row-1');
    assert.ok(!sealed.includes('JBSWY3DPEHPK3PXP'));
    assert.equal(box.keyIdOf(sealed), 'k1');
    assert.deepEqual(box.decrypt(sealed, 'row-1'), plain);
    assert.notEqual(box.encrypt(plain, 'row-1'), sealed, 'a fresh IV each time');
  });

  it('refuses a ciphertext moved to another row or tampered with', () => {
    const box = createSecretBox(new Map([['k1', k1]]), 'k1');
    const sealed = box.encrypt(Buffer.from('secret'), 'row-1');
    assert.throws(() => box.decrypt(sealed, 'row-2'));
    const parts = sealed.split(':');
    parts[4] = Buffer.from('x' + Buffer.from(parts[4], 'base64').toString('latin1').slice(1), 'latin1').toString('base64');
    assert.throws(() => box.decrypt(parts.join(':'), 'row-1'));
  });

  it('decrypts with an old key after rotation and encrypts with the new one', () => {
    const before = createSecretBox(new Map([['k1', k1]]), 'k1');
    const sealed = before.encrypt(Buffer.from('seed'), 'ctx');
    const after = createSecretBox(new Map([['k1', k1], ['k2', k2]]), 'k2');
    assert.equal(after.decrypt(sealed, 'ctx').toString(), 'seed');
    assert.equal(after.keyIdOf(after.encrypt(Buffer.from('seed'), 'ctx')), 'k2');
    const withoutOld = createSecretBox(new Map([['k2', k2]]), 'k2');
    assert.throws(() => withoutOld.decrypt(sealed, 'ctx'), /unknown key id "k1"/);
  });
});
