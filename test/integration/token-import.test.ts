/**
 * Hardware token import end to end on real PostgreSQL: the service validates and enqueues, the
 * real `tokens.import` processor runs on the in-process queue. Timings are measured by
 * `npm run bench -- import`, not here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, type TestTenant } from '../helpers/factories';
import { waitUntil } from '../helpers/wait';
import { buildCsv, buildPskc, randomSeeds } from '../helpers/token-files';
import { buildPreSharedPskc } from '../helpers/pskc-preshared';
import { base32Encode } from '../../src/otp/base32';
import { openSeed } from '../../src/tokens/token-seed';
import { openImportFile, sealImportFile } from '../../src/tokens/import/import-file';
import { ValidationError } from '../../src/lib/errors';

describe('hardware token import', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const countTokens = async (tenantId: string) => Number((await ctx.services.db('tokens').where({ tenant_id: tenantId }).count('* as n').first())!.n);
  const waitDone = (id: string, timeoutMs = 30_000) =>
    waitUntil(async () => {
      const row = await ctx.services.db('token_imports').where({ id }).first();
      return row.status === 'done' || row.status === 'failed' ? row : undefined;
    }, timeoutMs, `import ${id} to finish`);

  async function importAll(tenant: TestTenant, format: 'csv' | 'pskc', content: string, password?: string, preSharedKey?: string): Promise<void> {
    const created = await ctx.services.tokenImports.startImport(tenant.actor, { format, filename: `tokens.${format}`, content: Buffer.from(content), password, preSharedKey });
    const row = await waitDone(created.id);
    assert.equal(row.status, 'done', row.error);
    assert.equal(row.processed, 10_000);
  }

  it('imports 10 000 tokens from CSV', async () => {
    const tenant = await createTenant(ctx.services);
    await importAll(tenant, 'csv', buildCsv(randomSeeds(10_000, 'CSV')));
    assert.equal(await countTokens(tenant.tenantId), 10_000);
    const sample = await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId, serial: 'CSV-000002' }).first();
    assert.deepEqual([sample.type, sample.user_id, sample.otp_kind, sample.hotp_counter, sample.period], ['hardware', null, 'hotp', 1, null]);
  });

  it('imports 10 000 tokens from a password-protected PSKC file', async () => {
    const tenant = await createTenant(ctx.services);
    await importAll(tenant, 'pskc', buildPskc(randomSeeds(10_000, 'PSKC'), { password: 'vendor secret' }), 'vendor secret');
    assert.equal(await countTokens(tenant.tenantId), 10_000);
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId }).whereIn('action', ['token.import.start', 'token.import.done']).orderBy('id');
    assert.deepEqual(audit.map((a) => [a.action, a.details.total ?? a.details.count]), [['token.import.start', 10_000], ['token.import.done', 10_000]]);
  });

  it('imports 10 000 tokens from a PSKC file encrypted with a pre-shared AES-256 key', async () => {
    const tenant = await createTenant(ctx.services);
    const key = randomBytes(32);
    const specs = randomSeeds(10_000, 'PSK');
    await importAll(tenant, 'pskc', buildPreSharedPskc(specs, key), undefined, key.toString('hex'));
    assert.equal(await countTokens(tenant.tenantId), 10_000);
    const row = await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId, serial: specs[9_999].serial }).first();
    assert.deepEqual(openSeed(ctx.services.secrets, row.id, row.seed_sealed), specs[9_999].seed);
  });

  it('keeps the pre-shared key sealed with the file, like the password, and opens files sealed before keys existed', () => {
    const { secrets } = ctx.services;
    const id = randomUUID();
    const key = randomBytes(16).toString('hex');
    const content = Buffer.from(buildPreSharedPskc(randomSeeds(2, 'SEALED'), Buffer.from(key, 'hex')));
    const sealed = sealImportFile(secrets, id, { content, preSharedKey: key });
    assert.ok(!sealed.toLowerCase().includes(key) && !sealed.includes(Buffer.from(key).toString('base64')), 'the key is not readable in the sealed file');
    assert.deepEqual(openImportFile(secrets, id, sealed), { content, password: undefined, preSharedKey: key });
    assert.throws(() => openImportFile(secrets, randomUUID(), sealed), 'bound to its import id');
    const legacy = secrets.encrypt(gzipSync(Buffer.concat([Buffer.from('{"password":"pw"}\n'), content])), `token-import:${id}`);
    assert.deepEqual(openImportFile(secrets, id, legacy), { content, password: 'pw', preSharedKey: undefined });
  });

  it('refuses a malformed file whole, naming the line, and writes nothing', async () => {
    const tenant = await createTenant(ctx.services);
    const lines = buildCsv(randomSeeds(20, 'BAD')).split('\n');
    lines[16] = lines[16].replace(/,(totp|hotp),/, ',ocra,'); // line 17 of the file
    await assert.rejects(
      ctx.services.tokenImports.startImport(tenant.actor, { filename: 'bad.csv', content: Buffer.from(lines.join('\n')) }),
      (err: unknown) => err instanceof ValidationError && /^Line 17: the type "ocra" is not totp or hotp\. Nothing was imported\.$/.test(err.fields.file),
    );
    assert.equal(await countTokens(tenant.tenantId), 0);
    assert.equal((await ctx.services.db('token_imports').where({ tenant_id: tenant.tenantId })).length, 0);
  });

  it('refuses a file whose serial is already used in the tenant, naming line and serial', async () => {
    const tenant = await createTenant(ctx.services);
    const first = await ctx.services.tokenImports.startImport(tenant.actor, { filename: 'a.csv', content: Buffer.from(buildCsv(randomSeeds(3, 'DUP'))) });
    await waitDone(first.id);
    const clash = buildCsv([...randomSeeds(1, 'NEW'), { ...randomSeeds(2, 'dup')[1] }]);
    await assert.rejects(
      ctx.services.tokenImports.startImport(tenant.actor, { filename: 'b.csv', content: Buffer.from(clash) }),
      (err: unknown) => err instanceof ValidationError && /^Line 3: a token with the serial "dup-000002" already exists\./.test(err.message),
    );
    assert.equal(await countTokens(tenant.tenantId), 3);
    // Another tenant may use the same serials.
    const other = await createTenant(ctx.services);
    const theirs = await ctx.services.tokenImports.startImport(other.actor, { filename: 'c.csv', content: Buffer.from(clash) });
    assert.equal((await waitDone(theirs.id)).status, 'done');
  });

  it('imports once when the job is delivered twice, at once or after a crash before it finished', async () => {
    const tenant = await createTenant(ctx.services);
    const { db, secrets, processors } = ctx.services;
    const content = Buffer.from(buildCsv(randomSeeds(2500, 'TWICE')));
    // A row as startImport leaves it, but with no job enqueued: this test delivers the job itself.
    const id = randomUUID();
    const sealed = sealImportFile(secrets, id, { content });
    await db('token_imports').insert({ id, tenant_id: tenant.tenantId, format: 'csv', filename: 't.csv', status: 'queued', file_sealed: sealed, total: 2500 });
    const attempt = { number: 1, final: false };
    await Promise.all([processors.importTokens({ importId: id }, attempt), processors.importTokens({ importId: id }, attempt)]);
    assert.equal(await countTokens(tenant.tenantId), 2500);
    // A crash after the inserts but before the import was marked done: the retry adds nothing.
    await db('token_imports').where({ id }).update({ status: 'running', processed: 1000, file_sealed: sealed });
    await processors.importTokens({ importId: id }, { number: 2, final: false });
    await processors.importTokens({ importId: id }, { number: 3, final: false });
    assert.equal(await countTokens(tenant.tenantId), 2500);
    const row = await db('token_imports').where({ id }).first();
    assert.deepEqual([row.status, row.processed, row.file_sealed], ['done', 2500, null]);
    assert.deepEqual([row.created, row.row_errors], [2500, []], 'rows a concurrent delivery of the same job inserted are created, not skipped');
    const done = await db('audit_events').where({ tenant_id: tenant.tenantId, action: 'token.import.done' });
    assert.deepEqual(done.map((a) => a.details.count), [2500, 2500], 'one per finishing delivery, each counting the whole import');
  });

  it('keeps no seed in plaintext: tokens hold sealed seeds bound to their id, the file is dropped after', async () => {
    const tenant = await createTenant(ctx.services);
    const specs = randomSeeds(6, 'SEAL');
    const created = await ctx.services.tokenImports.startImport(tenant.actor, { filename: 's.csv', content: Buffer.from(buildCsv(specs)) });
    await waitDone(created.id);
    const dump = (await ctx.services.db.raw('SELECT row_to_json(t)::text AS j FROM tokens t WHERE tenant_id = ?', [tenant.tenantId])).rows.map((r: { j: string }) => r.j).join('\n');
    const imports = (await ctx.services.db.raw('SELECT row_to_json(i)::text AS j FROM token_imports i WHERE tenant_id = ?', [tenant.tenantId])).rows[0].j;
    for (const s of specs) {
      for (const form of [base32Encode(s.seed), s.seed.toString('hex'), s.seed.toString('base64')]) {
        assert.ok(!dump.toLowerCase().includes(form.toLowerCase()), 'seed found in tokens');
        assert.ok(!imports.toLowerCase().includes(form.toLowerCase()), 'seed found in token_imports');
      }
      const row = await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId, serial: s.serial }).first();
      assert.deepEqual(openSeed(ctx.services.secrets, row.id, row.seed_sealed), s.seed);
      assert.equal(row.seed_key_id, ctx.services.secrets.activeKeyId);
    }
    const row = await ctx.services.db('token_imports').where({ id: created.id }).first();
    assert.equal(row.file_sealed, null);
  });
});
