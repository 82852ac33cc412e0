import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
      (err: Error) => err instanceof ConfigError && /DATABASE_URL, BASE_URL, SESSION_SECRET, CSRF_SECRET, ENCRYPTION_KEYS, METRICS_TOKEN/.test(err.message),
    );
  });

  it('accepts production with every secret, and turns sign-up off by default', () => {
    const key = randomBytes(32).toString('base64');
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/mfa',
      BASE_URL: 'https://mfa.example.com/',
      SESSION_SECRET: randomBytes(30).toString('base64'),
      CSRF_SECRET: randomBytes(30).toString('base64'),
      ENCRYPTION_KEYS: `old:${randomBytes(32).toString('base64')},k2:${key}`,
      METRICS_TOKEN: randomBytes(24).toString('base64url'),
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

  describe('production refuses weak secrets', () => {
    const strong = () => ({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/mfa',
      BASE_URL: 'https://mfa.example.com',
      SESSION_SECRET: randomBytes(30).toString('base64'),
      CSRF_SECRET: randomBytes(30).toString('base64'),
      ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      METRICS_TOKEN: randomBytes(24).toString('base64url'),
    });
    const refuses = (env: Record<string, string>, message: RegExp) =>
      assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && /refuses weak secrets/.test(err.message) && message.test(err.message));

    it('SESSION_SECRET or CSRF_SECRET of one character repeated', () => {
      refuses({ ...strong(), SESSION_SECRET: 's'.repeat(40) }, /SESSION_SECRET is one character repeated/);
      refuses({ ...strong(), CSRF_SECRET: '0'.repeat(64) }, /CSRF_SECRET is one character repeated/);
      refuses({ ...strong(), CSRF_SECRET: 'at-least-32-characters-of-randomness' }, /CSRF_SECRET is the placeholder of \.env\.example/);
    });

    it('all-zero, one-byte or one-character keys, named by id', () => {
      refuses({ ...strong(), ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')},zero:${Buffer.alloc(32).toString('base64')}` }, /key 'zero' is all zeros/);
      refuses({ ...strong(), ENCRYPTION_KEYS: `k7:${Buffer.alloc(32, 7).toString('base64')}` }, /key 'k7' is one byte repeated/);
      refuses({ ...strong(), ENCRYPTION_KEYS: `ka:${'a'.repeat(43)}=` }, /key 'ka' is a short pattern repeated/);
    });

    it('the development defaults', () => {
      const dev = loadConfig({});
      const devKey = dev.encryption.keys.get('dev')!.toString('base64');
      refuses({ ...strong(), SESSION_SECRET: dev.sessionSecret, CSRF_SECRET: dev.csrfSecret, ENCRYPTION_KEYS: `dev:${devKey}` }, /SESSION_SECRET is the development default[\s\S]*CSRF_SECRET is the development default[\s\S]*key 'dev' is the development default/);
    });

    it('development and test keep accepting simple values', () => {
      assert.equal(loadConfig({ SESSION_SECRET: 's'.repeat(40), ENCRYPTION_KEYS: `k:${Buffer.alloc(32).toString('base64')}` }).sessionSecret, 's'.repeat(40));
      assert.equal(loadConfig(strong()).isProduction, true);
    });

    it('METRICS_TOKEN and OPS_PASSWORD of one character repeated', () => {
      refuses({ ...strong(), METRICS_TOKEN: 'm'.repeat(32) }, /METRICS_TOKEN is one character repeated/);
      refuses({ ...strong(), OPS_USERNAME: 'ops', OPS_PASSWORD: 'p'.repeat(20) }, /OPS_PASSWORD is one character repeated/);
    });
  });

  describe('operators (issue 13 §4)', () => {
    it('the queue dashboard needs both OPS_USERNAME and OPS_PASSWORD, and a password of 16 characters', () => {
      assert.equal(loadConfig({}).ops, undefined);
      assert.deepEqual(loadConfig({ OPS_USERNAME: 'ops', OPS_PASSWORD: 'a long operator pass' }).ops, { username: 'ops', password: 'a long operator pass' });
      assert.throws(() => loadConfig({ OPS_USERNAME: 'ops' }), /OPS_USERNAME and OPS_PASSWORD go together/);
      assert.throws(() => loadConfig({ OPS_PASSWORD: 'a long operator pass' }), /OPS_USERNAME and OPS_PASSWORD go together/);
      assert.throws(() => loadConfig({ OPS_USERNAME: 'ops', OPS_PASSWORD: 'short' }), /OPS_PASSWORD: at least 16 characters/);
    });

    it('metrics token and worker metrics port', () => {
      const config = loadConfig({ METRICS_TOKEN: 'x'.repeat(10) + 'metrics-token-1', WORKER_METRICS_PORT: '9464' });
      assert.equal(config.workerMetricsPort, 9464);
      assert.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN: at least 24 characters/);
      assert.equal(loadConfig({}).workerMetricsPort, undefined);
    });
  });
});
