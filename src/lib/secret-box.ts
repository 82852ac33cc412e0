/**
 * AES-256-GCM encryption of secrets at rest (SEC-03). The ciphertext carries its key id,
 * so keys can be rotated: decrypt with any known key, encrypt with the active one.
 * Format: `v1:<keyId>:<iv b64>:<tag b64>:<ciphertext b64>`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface SecretBox {
  encrypt(plain: Buffer, context: string): string;
  decrypt(sealed: string, context: string): Buffer;
  keyIdOf(sealed: string): string;
  activeKeyId: string;
}

export function createSecretBox(keys: Map<string, Buffer>, activeKeyId: string): SecretBox {
  return {
    activeKeyId,
    /** `context` (for example a row id) is bound as associated data so ciphertexts cannot be swapped between rows. */
    encrypt(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keys.get(activeKeyId)!, iv);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return ['v1', activeKeyId, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
    },
    decrypt(sealed, context) {
      const [version, keyId, iv, tag, body] = sealed.split(':');
      const key = keys.get(keyId);
      if (version !== 'v1' || !key) throw new Error(`Cannot decrypt: unknown key id "${keyId}"`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]);
    },
    keyIdOf(sealed) {
      return sealed.split(':')[1];
    },
  };
}
