/**
 * keys:rotate (issue 3, SEC-03): every sealed secret moves to the active key while the service
 * keeps working. Rotation is service-wide by nature, so this file uses its own database: rotating
 * the shared test database would re-seal the rows of test files running in parallel under a key
 * they do not have.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { authenticator } from 'otplib';
import { recreateDatabase } from '../../src/db/database-admin';
import { createSecretBox } from '../../src/lib/secret-box';
import { openSeed } from '../../src/tokens/token-seed';
import { createKeyRotationService } from '../../src/tokens/key-rotation.service';
import { base32Encode, generateHotp, generateTotp } from '../../src/otp/otp-engine';
import { createTestContext, type TestContext } from '../helpers/context';
import { lastLine, runCli } from '../helpers/cli';
import { testDatabaseUrl } from '../helpers/env';
import { createResource, createTenant, createUser } from '../helpers/factories';
import { waitUntil } from '../helpers/wait';

const SEED = Buffer.from('12345678901234567890');
const HOTP = { kind: 'hotp', algorithm: 'SHA1', digits: 6 } as const;
const TOTP = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const k3 = randomBytes(32);
const keyring = (...keys: Array<[string, Buffer]>) => keys.map(([id, key]) => `${id}:${key.toString('base64')}`).join(',');

const dbUrl = Object.assign(new URL(testDatabaseUrl()), { pathname: `/${new URL(testDatabaseUrl()).pathname.slice(1)}_keyrot` }).toString();

describe('keys:rotate (SEC-03)', () => {
  let old: TestContext;
  let next: TestContext;
  before(async () => {
    await recreateDatabase(dbUrl);
    old = await createTestContext({ DATABASE_URL: dbUrl, ENCRYPTION_KEYS: keyring(['k1', k1]), ENCRYPTION_KEY_ID: 'k1' });
    next = await createTestContext({ DATABASE_URL: dbUrl, ENCRYPTION_KEYS: keyring(['k1', k1], ['k2', k2]), ENCRYPTION_KEY_ID: 'k2' });
  });
  after(async () => {
    await old?.close();
    await next?.close();
  });

  /** A tenant with an enrolled admin, one resource, and a user holding a TOTP and an HOTP token there, all sealed under k1. */
  async function seedUnderK1() {
    const s = old.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { maxTokensPerUser: 2, failedAttemptsLimit: 10 });
    const user = await createUser(s, tenant);
    await s.users.assign(tenant.actor, resource.id, user.id);
    const totp = (await s.tokens.create(tenant.actor, { type: 'totp', userId: user.id, secret: base32Encode(SEED) })).token;
    const hotp = (await s.tokens.create(tenant.actor, { type: 'hotp', userId: user.id, secret: base32Encode(SEED), counter: 0 })).token;
    for (const t of [totp, hotp]) await s.tokens.assignToResource(tenant.actor, resource.id, t.id);
    // A reissued seed waiting for its first code (portal Reissue Token) is sealed the same way.
    await s.db('tokens').where({ id: totp.id }).update({ pending_seed_sealed: s.secrets.encrypt(Buffer.alloc(20, 9), `token-seed:${totp.id}`), pending_seed_at: s.db.fn.now() });
    const importId = randomUUID();
    await s.db('token_imports').insert({ id: importId, tenant_id: tenant.tenantId, format: 'csv', filename: 'x.csv', file_sealed: s.secrets.encrypt(Buffer.from('serial,secret'), `token-import:${importId}`) });
    // A webhook endpoint with a rotated secret: both the current and the previous secret are sealed.
    const { endpoint, secret: webhookSecret } = await s.webhooks.create(tenant.actor, { url: 'http://127.0.0.1:9/', events: ['*'] });
    const rotatedWebhook = await s.webhooks.rotateSecret(tenant.actor, endpoint.id);
    return { tenant, resource, user, totp, hotp, importId, webhook: { id: endpoint.id, previous: webhookSecret, current: rotatedWebhook.secret } };
  }

  it('re-seals seeds, admin TOTP secrets and import files under the new key while authentication goes on', async () => {
    const { tenant, resource, user, totp, hotp, importId, webhook } = await seedUnderK1();
    const db = next.services.db;
    assert.deepEqual(await db('tokens').whereIn('id', [totp.id, hotp.id]).pluck('seed_key_id'), ['k1', 'k1']);

    // Online: HOTP checks through the new services (old and new key both known) during the run.
    const authenticate = (otp: string) => next.services.validation.authenticate(tenant.actor, resource.id, { login: user.login, otp });
    const rotation = createKeyRotationService(db, next.services.secrets);
    const during = (async () => {
      const results: boolean[] = [];
      for (let counter = 0; counter < 5; counter++) results.push((await authenticate(generateHotp(SEED, counter, HOTP))).result);
      return results;
    })();
    const [summary, results] = await Promise.all([rotation.rotateAll({ batchSize: 1 }), during]);
    assert.deepEqual(results, [true, true, true, true, true]);
    assert.equal(summary.keyId, 'k2');
    assert.ok(summary.rotated.tokens >= 2 && summary.rotated.pendingSeeds >= 1 && summary.rotated.admins >= 1 && summary.rotated.tokenImports >= 1 && summary.rotated.webhookSecrets >= 1 && summary.rotated.webhookPreviousSecrets >= 1, JSON.stringify(summary));
    assert.deepEqual(Object.values(summary.unreadable), [0, 0, 0, 0, 0, 0]);
    const pending = await db('tokens').where({ id: totp.id }).first('pending_seed_sealed');
    assert.equal(pending.pending_seed_sealed.split(':')[1], 'k2', 'the pending seed is under the new key');
    assert.deepEqual(next.services.secrets.decrypt(pending.pending_seed_sealed, `token-seed:${totp.id}`), Buffer.alloc(20, 9));

    const rows = await db('tokens').whereIn('id', [totp.id, hotp.id]).select('id', 'seed_key_id', 'seed_sealed', 'hotp_counter');
    for (const row of rows) {
      assert.equal(row.seed_key_id, 'k2');
      assert.equal(next.services.secrets.keyIdOf(row.seed_sealed), 'k2');
    }
    assert.equal(rows.find((r) => r.id === hotp.id).hotp_counter, 5, 'counter claims made during the run are kept');

    // A box holding only k2 opens everything.
    const onlyK2 = createSecretBox(new Map([['k2', k2]]), 'k2');
    for (const row of rows) assert.deepEqual(openSeed(onlyK2, row.id, row.seed_sealed), SEED);
    const admin = await db('admins').where({ id: tenant.adminId }).first('totp_secret_sealed');
    assert.equal(onlyK2.decrypt(admin.totp_secret_sealed, `admin-totp:${tenant.adminId}`).toString(), tenant.totpSecret);
    const imported = await db('token_imports').where({ id: importId }).first('file_sealed');
    assert.equal(onlyK2.decrypt(imported.file_sealed, `token-import:${importId}`).toString(), 'serial,secret');
    const hook = await db('webhook_endpoints').where({ id: webhook.id }).first('secret_sealed', 'previous_secret_sealed');
    assert.equal(onlyK2.decrypt(hook.secret_sealed, `webhook_endpoint:${webhook.id}`).toString(), webhook.current);
    assert.equal(onlyK2.decrypt(hook.previous_secret_sealed, `webhook_endpoint:${webhook.id}`).toString(), webhook.previous);

    // Services that know only k2 authenticate users and admins.
    const k2only = await createTestContext({ DATABASE_URL: dbUrl, ENCRYPTION_KEYS: keyring(['k2', k2]), ENCRYPTION_KEY_ID: 'k2' });
    try {
      const auth = (otp: string) => k2only.services.validation.authenticate(tenant.actor, resource.id, { login: user.login, otp });
      assert.equal((await auth(generateTotp(SEED, Date.now(), TOTP))).result, true, 'TOTP still verifies');
      assert.equal((await auth(generateHotp(SEED, 5, HOTP))).result, true, 'HOTP still verifies');
      assert.equal((await k2only.services.adminSignIn.verifyTotp(tenant.tenantId, tenant.adminId, authenticator.generate(tenant.totpSecret))).ok, true, 'admin TOTP still verifies');
    } finally {
      await k2only.close();
    }

    const again = await rotation.rotateAll();
    assert.deepEqual(again.rotated, { tokens: 0, pendingSeeds: 0, admins: 0, tokenImports: 0, webhookSecrets: 0, webhookPreviousSecrets: 0 }, 'idempotent');
    assert.deepEqual(await rotation.remaining(), { tokens: 0, pendingSeeds: 0, admins: 0, tokenImports: 0, webhookSecrets: 0, webhookPreviousSecrets: 0 });
  });

  it('never overwrites a ciphertext written after it was read (compare-and-set)', async () => {
    const { hotp } = await seedUnderK1();
    const db = next.services.db;
    const context = `token-seed:${hotp.id}`;
    // A concurrent writer replaces the seed and holds the row until the rotation's write waits on it.
    const trx = await db.transaction();
    await trx('tokens').where({ id: hotp.id }).update({ seed_sealed: old.services.secrets.encrypt(Buffer.alloc(20, 7), context) });
    const running = createKeyRotationService(db, next.services.secrets).rotateAll();
    await waitUntil(async () => {
      const { rows } = await db.raw(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE tokens AS t%'`);
      return rows.length > 0;
    }, 10_000, 'the rotation to wait for the row');
    await trx.commit();
    const summary = await running;
    assert.ok(summary.skipped.tokens >= 1, JSON.stringify(summary));
    const row = await db('tokens').where({ id: hotp.id }).first('seed_sealed');
    assert.equal(next.services.secrets.keyIdOf(row.seed_sealed), 'k1', 'left for the next run');
    assert.deepEqual(openSeed(next.services.secrets, hotp.id, row.seed_sealed), Buffer.alloc(20, 7), 'the concurrent write wins');
    await createKeyRotationService(db, next.services.secrets).rotateAll();
    const rotated = await db('tokens').where({ id: hotp.id }).first('seed_sealed', 'seed_key_id');
    assert.equal(rotated.seed_key_id, 'k2');
    assert.deepEqual(openSeed(next.services.secrets, hotp.id, rotated.seed_sealed), Buffer.alloc(20, 7));
  });

  it('runs from the CLI: progress on stderr, a JSON summary as the last stdout line, then nothing left to do', async () => {
    await seedUnderK1();
    const env = { DATABASE_URL: dbUrl, ENCRYPTION_KEYS: keyring(['k1', k1], ['k2', k2]), ENCRYPTION_KEY_ID: 'k2' };
    const first = await runCli(['keys:rotate', '--batch-size', '2'], env);
    assert.equal(first.code, 0, first.stderr);
    const summary = JSON.parse(lastLine(first.stdout));
    assert.equal(summary.keyId, 'k2');
    assert.ok(summary.rotated.tokens >= 2 && summary.rotated.admins >= 1, first.stdout);
    assert.match(first.stderr, /tokens: \d+\/\d+ checked/);

    const second = await runCli(['keys:rotate'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(lastLine(second.stdout)).rotated, { tokens: 0, pendingSeeds: 0, admins: 0, tokenImports: 0, webhookSecrets: 0, webhookPreviousSecrets: 0 });

    // Dropping k2 from the keyring too early is reported, not silently skipped.
    const missing = await runCli(['keys:rotate'], { DATABASE_URL: dbUrl, ENCRYPTION_KEYS: keyring(['k3', k3]), ENCRYPTION_KEY_ID: 'k3' });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /missing from ENCRYPTION_KEYS/);
    assert.ok(JSON.parse(missing.stdout.trim().split('\n').at(-1)!).unreadable.tokens >= 2);
  });
});
