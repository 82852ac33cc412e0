/**
 * ENCRYPTION_KEYS is checked at start (SEC-03): a wrong but well-formed key under a known key id
 * is refused by createServices, hence by the web process, the worker and the CLI, with a message
 * naming the key, instead of starting and answering 500 to every check of an existing seed.
 * Runs on its own database: the sentinels of these keys must not meet other files' keys.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config';
import { createServices } from '../../src/services';
import { createLogger } from '../../src/lib/logger';
import { recreateDatabase } from '../../src/db/database-admin';
import { testDatabaseUrl, testRedisUrl } from '../helpers/env';
import { createTenant, createUser } from '../helpers/factories';
import { runCli } from '../helpers/cli';

const dbUrl = Object.assign(new URL(testDatabaseUrl()), { pathname: `/${new URL(testDatabaseUrl()).pathname.slice(1)}_keycheck` }).toString();
const keyA = randomBytes(32).toString('base64');
const keyB = randomBytes(32).toString('base64');
const REFUSED = /ENCRYPTION_KEYS: key 'k1' does not open the data sealed with it; is this the right key\?/;

const env = (keys: string) => ({ NODE_ENV: 'test', DATABASE_URL: dbUrl, LOG_LEVEL: 'silent', ENCRYPTION_KEYS: keys, BASE_URL: 'http://localhost:3000' });
const start = (keys: string) => createServices(loadConfig(env(keys)), { log: createLogger('silent'), migrate: true });

/** Runs a process entry point to its end; answers its exit code and everything it printed. */
function runEntry(entry: string, extra: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('SEC-03 ENCRYPTION_KEYS checked at start', () => {
  before(async () => {
    await recreateDatabase(dbUrl);
    // Key A seals a seed and writes the sentinel of 'k1'.
    const services = await start(`k1:${keyA}`);
    try {
      const tenant = await createTenant(services);
      const user = await createUser(services, tenant);
      await services.tokens.create(tenant.actor, { type: 'totp', userId: user.id });
    } finally {
      await services.close();
    }
  });

  it('starts again with the same key', async () => {
    const services = await start(`k1:${keyA}`);
    await services.close();
  });

  it('refuses a different key under the same id, naming it', async () => {
    await assert.rejects(start(`k1:${keyB}`), (err: Error) => err instanceof ConfigError && REFUSED.test(err.message));
    // A wrong key beside a new one is refused too, and the refused start writes no sentinel.
    await assert.rejects(start(`k0:${randomBytes(32).toString('base64')},k1:${keyB}`), REFUSED);
    const services = await start(`k1:${keyA}`);
    try {
      assert.equal(await services.db('encryption_key_checks').where({ key_id: 'k0' }).first(), undefined);
    } finally {
      await services.close();
    }
  });

  it('a new key id gets its sentinel; the old key keeps opening its own', async () => {
    const keyC = randomBytes(32).toString('base64');
    const services = await start(`k1:${keyA},k2:${keyC}`);
    try {
      assert.deepEqual((await services.db('encryption_key_checks').orderBy('key_id').pluck('key_id')), ['k1', 'k2']);
    } finally {
      await services.close();
    }
    await assert.rejects(start(`k1:${keyA},k2:${keyB}`), /key 'k2' does not open/);
  });

  it('data sealed before the check existed: a key id without a sentinel is checked against a stored seed', async () => {
    const services = await start(`k1:${keyA}`);
    await services.db('encryption_key_checks').where({ key_id: 'k1' }).delete();
    await services.close();
    await assert.rejects(start(`k1:${keyB}`), REFUSED);
    // Nothing was written by the refused start: the right key still starts and re-creates the sentinel.
    const again = await start(`k1:${keyA}`);
    try {
      assert.ok(await again.db('encryption_key_checks').where({ key_id: 'k1' }).first());
    } finally {
      await again.close();
    }
  });

  it('the web process, the worker and the CLI exit 1 with the message', { timeout: 120_000 }, async () => {
    const wrong = { ...env(`k1:${keyB}`), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: testRedisUrl(), QUEUE_PREFIX: 'keycheck' };
    const [web, worker] = await Promise.all([runEntry('src/server.ts', wrong), runEntry('workers/worker.ts', wrong)]);
    for (const [name, run] of [['web', web], ['worker', worker]] as const) {
      assert.equal(run.code, 1, `${name}: ${run.output}`);
      assert.match(run.output, REFUSED, name);
      assert.doesNotMatch(run.output, /at .*\.ts:\d+/, `${name}: no stack trace`);
    }
    const cli = await runCli(['migrate'], { DATABASE_URL: dbUrl, ENCRYPTION_KEYS: `k1:${keyB}` });
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, REFUSED);
  });
});
