import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config';

describe('config', () => {
  it('starts with no variables at all in development', () => {
    const config = loadConfig({});
    assert.equal(config.env, 'development');
    assert.equal(config.port, 3000);
    assert.equal(config.baseUrl, 'http://localhost:3000');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.signupEnabled, true);
    assert.equal(config.encryption.keys.get(config.encryption.activeKeyId)!.length, 32);
  });

  it('refuses production without real secrets and names each missing one', () => {
    assert.throws(
      () => loadConfig({ NODE_ENV: 'production' }),
      (err: Error) => err instanceof ConfigError && /DATABASE_URL, BASE_URL, SESSION_SECRET, CSRF_SECRET, ENCRYPTION_KEYS/.test(err.message),
    );
  });

  it('accepts production with every secret, and turns sign-up off by default', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/mfa',
      BASE_URL: 'https://mfa.example.com/',
      SESSION_SECRET: 's'.repeat(40),
      CSRF_SECRET: 'c'.repeat(40),
      ENCRYPTION_KEYS: `old:${Buffer.alloc(32, 1).toString('base64')},k2:${key}`,
    });
    assert.equal(config.isProduction, true);
    assert.equal(config.signupEnabled, false);
    assert.equal(config.baseUrl, 'https://mfa.example.com');
    assert.equal(config.encryption.activeKeyId, 'k2');
  });

  it('explains invalid values', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT/);
    assert.throws(() => loadConfig({ SESSION_SECRET: 'short' }), /SESSION_SECRET: at least 32 characters/);
    assert.throws(() => loadConfig({ ENCRYPTION_KEYS: 'k1:tooshort' }), /ENCRYPTION_KEYS/);
    assert.throws(() => loadConfig({ ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString('base64')}`, ENCRYPTION_KEY_ID: 'k9' }), /k9/);
  });
});
