/**
 * POST /api/v1/token-imports and GET /api/v1/token-imports/{id}: every accepted body (raw CSV, raw
 * PSKC with a password or pre-shared key header, multipart), polled to the end on the in-process
 * queue; the counts and errors with lines; bad input as clear 4xx; tenant isolation.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, type TestTenant } from '../helpers/factories';
import { waitUntil } from '../helpers/wait';
import { buildCsv, buildPskc, randomSeeds, type SeedSpec } from '../helpers/token-files';
import { buildPreSharedPskc } from '../helpers/pskc-preshared';
import { apiClient, assertApiError } from '../helpers/api-client';
import { generateHotp, generateTotp } from '../../src/otp/otp-engine';
import { sealImportFile } from '../../src/tokens/import/import-file';
import { IMPORT_MAX_BYTES } from '../../src/tokens/import/import.types';

describe('api: hardware token imports', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const auth = (tenant: TestTenant) => ({ Authorization: `Bearer ${tenant.apiKey}` });
  const post = (tenant: TestTenant) => request(ctx.app).post('/api/v1/token-imports').set(auth(tenant));
  const raw = (tenant: TestTenant, type: string, body: string | Buffer, headers: Record<string, string> = {}) => post(tenant).set('Content-Type', type).set(headers).send(Buffer.from(body));

  /** Polls the import until it is finished, as a client would. */
  async function finished(tenant: TestTenant, id: string) {
    return waitUntil(async () => {
      const res = await apiClient(ctx.app, tenant.apiKey).get(`/token-imports/${id}`);
      assert.equal(res.status, 200, res.text);
      return res.body.status === 'done' || res.body.status === 'failed' ? res.body : undefined;
    }, 15_000, `import ${id} to finish`);
  }

  async function accepted(res: request.Response): Promise<string> {
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['id', 'status']);
    assert.equal(res.body.status, 'queued');
    assert.equal(res.headers.location, `/api/v1/token-imports/${res.body.id}`);
    return res.body.id;
  }

  /** Each imported token answers its current code through the API: the seeds went in right. */
  async function assertCodesVerify(tenant: TestTenant, specs: SeedSpec[]) {
    const api = apiClient(ctx.app, tenant.apiKey);
    for (const s of specs) {
      const token = await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId, serial: s.serial }).first();
      assert.ok(token, `${s.serial} was imported`);
      const params = { algorithm: 'SHA1', digits: s.digits ?? 6 } as const;
      const code = s.kind === 'totp' ? generateTotp(s.seed, Date.now(), { ...params, kind: 'totp', period: s.period ?? 30 }) : generateHotp(s.seed, s.counter ?? 0, params);
      const verified = await api.post(`/tokens/${token.id}/verify`, { otp: code });
      assert.deepEqual([verified.status, verified.body], [200, { result: true }], s.serial);
    }
  }

  const done = (total: number) => ({ status: 'done', total, processed: total, created: total, updated: 0, unchanged: 0, errors: [] });
  const countTokens = async (tenant: TestTenant) => Number((await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId }).count('* as n').first())!.n);
  const countImports = async (tenant: TestTenant) => Number((await ctx.services.db('token_imports').where({ tenant_id: tenant.tenantId }).count('* as n').first())!.n);

  it('imports a raw text/csv body and reports the counts when done', async () => {
    const tenant = await createTenant(ctx.services);
    const specs = randomSeeds(30, 'CSV');
    const id = await accepted(await raw(tenant, 'text/csv; charset=utf-8', buildCsv(specs)));
    const result = await finished(tenant, id);
    assert.deepEqual(result, { id, ...done(30) });
    assert.equal(await countTokens(tenant), 30);
    await assertCodesVerify(tenant, specs.slice(0, 4));
    const row = await ctx.services.db('token_imports').where({ id }).first();
    assert.deepEqual([row.format, row.file_sealed], ['csv', null], 'read as CSV, and the sealed file dropped once done');
    // An API key acts as an admin of its tenant, and the start is audited under the key.
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'token.import.start' }).first();
    assert.equal(audit.actor_type, 'api_key');
    assert.equal(audit.target_id, id);
  });

  it('imports a raw PSKC body protected by a password given in X-PSKC-Password', async () => {
    const tenant = await createTenant(ctx.services);
    const specs = randomSeeds(6, 'PWD');
    const id = await accepted(await raw(tenant, 'application/pskc+xml', buildPskc(specs, { password: 'open sesame' }), { 'X-PSKC-Password': 'open sesame' }));
    assert.deepEqual(await finished(tenant, id), { id, ...done(6) });
    await assertCodesVerify(tenant, specs);
    // A password beyond ASCII travels as its UTF-8 bytes (Node reads header bytes as latin1).
    const umlaut = await raw(tenant, 'application/pskc+xml', buildPskc(randomSeeds(2, 'UML'), { password: 'pässwört' }), { 'X-PSKC-Password': Buffer.from('pässwört', 'utf8').toString('latin1') });
    assert.equal((await finished(tenant, await accepted(umlaut))).created, 2);
  });

  it('imports a raw application/xml PSKC body encrypted with a pre-shared key given in X-PSKC-Key (hex)', async () => {
    const tenant = await createTenant(ctx.services);
    const specs = randomSeeds(6, 'PSK');
    const key = randomBytes(32);
    const id = await accepted(await raw(tenant, 'application/xml', buildPreSharedPskc(specs, key), { 'X-PSKC-Key': key.toString('hex') }));
    assert.deepEqual(await finished(tenant, id), { id, ...done(6) });
    await assertCodesVerify(tenant, specs);
    const row = await ctx.services.db('token_imports').where({ id }).first();
    assert.equal(row.format, 'pskc');
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'token.import.start' }).first();
    assert.doesNotMatch(JSON.stringify(audit), new RegExp(key.toString('hex'), 'i'), 'the key is not audited');
  });

  it('imports multipart/form-data: a CSV file, a PSKC file with the password field, and one with the preSharedKey field', async () => {
    const tenant = await createTenant(ctx.services);
    const csvSpecs = randomSeeds(4, 'MPCSV');
    const csv = await accepted(await post(tenant).attach('file', Buffer.from(buildCsv(csvSpecs)), 'tokens.csv'));
    assert.deepEqual(await finished(tenant, csv), { id: csv, ...done(4) });

    const pwSpecs = randomSeeds(3, 'MPPW');
    const pw = await accepted(await post(tenant).field('password', 'field pass').attach('file', Buffer.from(buildPskc(pwSpecs, { password: 'field pass' })), 'vendor.pskcxml'));
    assert.deepEqual(await finished(tenant, pw), { id: pw, ...done(3) });

    const key = randomBytes(16);
    const pskSpecs = randomSeeds(3, 'MPPSK');
    const psk = await accepted(await post(tenant).field('format', 'pskc').field('preSharedKey', key.toString('hex')).attach('file', Buffer.from(buildPreSharedPskc(pskSpecs, key)), 'export.bin'));
    assert.deepEqual(await finished(tenant, psk), { id: psk, ...done(3) });

    await assertCodesVerify(tenant, [...csvSpecs, ...pwSpecs, ...pskSpecs]);
    assert.deepEqual((await ctx.services.db('token_imports').where({ tenant_id: tenant.tenantId }).orderBy('created_at').select('filename')).map((r) => r.filename), ['tokens.csv', 'vendor.pskcxml', 'export.bin']);
  });

  it('shows progress while running and lists rows skipped by the job with their line', async () => {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    // A file checked at upload whose serial on line 3 another token took before the job ran: the
    // job skips that row rather than failing the import. (The real job on the in-process queue.)
    const specs = randomSeeds(4, 'RACE');
    const id = randomUUID();
    const content = Buffer.from(buildCsv(specs));
    await ctx.services.db('token_imports').insert({ id, tenant_id: tenant.tenantId, format: 'csv', filename: 'race.csv', status: 'queued', total: 4, file_sealed: sealImportFile(ctx.services.secrets, id, { content }) });
    const queued = await api.get(`/token-imports/${id}`);
    assert.deepEqual(queued.body, { id, status: 'queued', total: 4, processed: 0, created: 0, updated: 0, unchanged: 0, errors: [] });
    const taken = await api.post('/tokens', { type: 'hardware', serial: specs[1].serial, secret: randomBytes(20).toString('hex') });
    assert.equal(taken.status, 201, taken.text);

    await ctx.services.queue.enqueue('importTokens', { importId: id }, { jobId: `import-${id}` });
    const result = await finished(tenant, id);
    assert.equal(result.status, 'done');
    assert.deepEqual([result.total, result.processed, result.created], [4, 4, 3]);
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0].line, 3, 'line 1 is the header, so the second token is on line 3');
    assert.match(result.errors[0].message, /^Line 3: the serial "RACE-000002" was taken by another token/);
  });

  it('maps a failed import to status failed with its error, and the line the error names', async () => {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const id = randomUUID();
    await ctx.services.db('token_imports').insert({ id, tenant_id: tenant.tenantId, format: 'pskc', status: 'failed', total: 2, processed: 0, error: 'KeyPackage 2 (serial X-2, line 14): Key/Data/Secret is missing.' });
    const res = await api.get(`/token-imports/${id}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.errors, [{ line: 14, message: 'KeyPackage 2 (serial X-2, line 14): Key/Data/Secret is missing.' }]);
    assert.equal(res.body.status, 'failed');
    // The job failing on a lost file: an error about the file as a whole has no line.
    const lost = randomUUID();
    await ctx.services.db('token_imports').insert({ id: lost, tenant_id: tenant.tenantId, format: 'csv', status: 'queued', total: 2 });
    await ctx.services.queue.enqueue('importTokens', { importId: lost }, { jobId: `import-${lost}` });
    const failed = await finished(tenant, lost);
    assert.deepEqual([failed.status, failed.errors], ['failed', [{ line: null, message: 'The uploaded file is no longer available. Upload it again.' }]]);
  });

  it('refuses a malformed file whole with 422 naming the line, and imports nothing', async () => {
    const tenant = await createTenant(ctx.services);
    const csv = buildCsv(randomSeeds(5, 'ERR')).replace('ERR-000003,', 'ERR 000003,');
    const res = await raw(tenant, 'text/csv', csv);
    assertApiError(res, 422, 'validation_failed');
    assert.match(res.body.error.message, /^Line 4: the serial "ERR 000003" may only use letters/);
    assert.match(res.body.error.fields.file, /^Line 4:/);
    const xml = await raw(tenant, 'application/xml', '<KeyContainer><KeyPackage>');
    assertApiError(xml, 422, 'validation_failed');
    // A serial already in the tenant refuses the file too (the console's rule, from the same service).
    await apiClient(ctx.app, tenant.apiKey).post('/tokens', { type: 'hardware', serial: 'TAKEN-1', secret: randomBytes(20).toString('hex') });
    const clash = await raw(tenant, 'text/csv', `serial,secret,type,digits,period\nFREE-1,${randomBytes(20).toString('hex')},totp,6,30\nTAKEN-1,${randomBytes(20).toString('hex')},totp,6,30\n`);
    assertApiError(clash, 422, 'validation_failed');
    assert.match(clash.body.error.message, /^Line 3: a token with the serial "TAKEN-1" already exists/);
    assert.equal(await countImports(tenant), 0);
    assert.equal(await countTokens(tenant), 1);
  });

  it('refuses a wrong or missing PSKC password or key with 422, without echoing it', async () => {
    const tenant = await createTenant(ctx.services);
    const file = buildPskc(randomSeeds(3, 'WRONG'), { password: 'right one' });
    const wrong = await raw(tenant, 'application/pskc+xml', file, { 'X-PSKC-Password': 'wrong one' });
    assertApiError(wrong, 422, 'validation_failed');
    assert.match(wrong.body.error.message, /The password is wrong/);
    assert.doesNotMatch(wrong.text, /wrong one/);
    const missing = await raw(tenant, 'application/pskc+xml', file);
    assertApiError(missing, 422, 'validation_failed');
    assert.match(missing.body.error.message, /protected by a password/);
    const key = randomBytes(16);
    const psk = buildPreSharedPskc(randomSeeds(2, 'WRONGK'), key);
    const badKey = await raw(tenant, 'application/xml', psk, { 'X-PSKC-Key': randomBytes(16).toString('hex') });
    assertApiError(badKey, 422, 'validation_failed');
    assert.match(badKey.body.error.message, /the pre-shared key is wrong/);
    const notHex = await post(tenant).field('preSharedKey', 'not hex at all').attach('file', Buffer.from(psk), 'k.xml');
    assertApiError(notHex, 422, 'validation_failed');
    assert.match(notHex.body.error.message, /should be written in hex/);
    assert.equal(await countImports(tenant), 0);
  });

  it('refuses a missing file, an empty body, an unknown content type and a broken form with a clear 4xx', async () => {
    const tenant = await createTenant(ctx.services);
    const noFile = await post(tenant).field('password', 'x');
    assertApiError(noFile, 400, 'bad_request');
    assert.match(noFile.body.error.message, /field named "file"/);
    assertApiError(await raw(tenant, 'text/csv', ''), 400, 'bad_request');
    const json = await post(tenant).send({ file: 'serial,secret' });
    assertApiError(json, 415, 'unsupported_media_type');
    assert.match(json.body.error.message, /"application\/json" is not accepted.*text\/csv/);
    assertApiError(await post(tenant), 415, 'unsupported_media_type');
    assertApiError(await raw(tenant, 'text/plain', 'a,b'), 415, 'unsupported_media_type');
    const twoFiles = await post(tenant).attach('file', Buffer.from('a'), 'a.csv').attach('other', Buffer.from('b'), 'b.csv');
    assertApiError(twoFiles, 400, 'bad_request');
    const broken = await raw(tenant, 'multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nserial,');
    assertApiError(broken, 400, 'bad_request');
    const noBoundary = await raw(tenant, 'multipart/form-data', 'whatever');
    assertApiError(noBoundary, 400, 'bad_request');
    // A body that does not match its Content-Encoding: our words, not zlib's codes.
    const corrupt = await raw(tenant, 'text/csv', 'not gzip', { 'Content-Encoding': 'gzip' });
    assertApiError(corrupt, 400, 'bad_request');
    assertApiError(await raw(tenant, 'text/csv', 'x', { 'Content-Encoding': 'compress' }), 415, 'unsupported_media_type');
    assert.equal(await countImports(tenant), 0);
  });

  it('refuses NUL bytes and control characters in fields with 400, and in the file with 422 naming the line', async () => {
    const tenant = await createTenant(ctx.services);
    const csv = buildCsv(randomSeeds(2, 'NUL'));
    const field = await post(tenant).field('password', 'a\u0000b').attach('file', Buffer.from(csv), 'n.csv');
    assertApiError(field, 400, 'bad_request');
    assert.match(field.body.error.message, /"password" contains a NUL byte/);
    const key = await post(tenant).field('preSharedKey', 'ab\u0007cd').attach('file', Buffer.from(csv), 'n.csv');
    assertApiError(key, 400, 'bad_request');
    const inFile = await raw(tenant, 'text/csv', csv.replace('NUL-000002', 'NUL-\u00002'));
    assertApiError(inFile, 422, 'validation_failed');
    assert.match(inFile.body.error.message, /^Line 3: the serial "NUL-\?2"/);
    const inXml = await raw(tenant, 'application/xml', buildPskc(randomSeeds(1, 'X')).replace('<pskc:SerialNo>X-000001', '<pskc:SerialNo>X-\u0000\uD800'));
    assert.ok(inXml.status >= 400 && inXml.status < 500, `${inXml.status}: ${inXml.text}`);
    assert.equal(await countImports(tenant), 0);
  });

  it(`refuses a file over the console's limit (${IMPORT_MAX_BYTES / 1024 / 1024} MB) with 413 naming it, raw or multipart`, async () => {
    const tenant = await createTenant(ctx.services);
    const big = Buffer.alloc(IMPORT_MAX_BYTES + 1, 0x61);
    const rawRes = await raw(tenant, 'text/csv', big);
    assertApiError(rawRes, 413, 'too_large');
    assert.match(rawRes.body.error.message, /larger than 20 MB/);
    const form = await post(tenant).attach('file', big, 'big.csv');
    assertApiError(form, 413, 'too_large');
    assert.match(form.body.error.message, /larger than 20 MB/);
    // The limit holds for the inflated bytes: 20 kB of gzip that would inflate past it is refused too.
    const bomb = gzipSync(big);
    assert.ok(bomb.length < 100_000);
    assertApiError(await raw(tenant, 'text/csv', bomb, { 'Content-Encoding': 'gzip' }), 413, 'too_large');
    // And a compressed file under the limit is read as usual.
    const id = await accepted(await raw(tenant, 'text/csv', gzipSync(buildCsv(randomSeeds(3, 'GZ'))), { 'Content-Encoding': 'gzip' }));
    assert.equal((await finished(tenant, id)).created, 3);
    assert.equal(await countImports(tenant), 1);
  });

  it('answers 401 without a valid key, before reading the file', async () => {
    const csv = buildCsv(randomSeeds(2, 'ANON'));
    assertApiError(await request(ctx.app).post('/api/v1/token-imports').set('Content-Type', 'text/csv').send(csv), 401, 'unauthorized');
    assertApiError(await request(ctx.app).post('/api/v1/token-imports').set('Authorization', 'Bearer mfa_nope').set('Content-Type', 'text/csv').send(csv), 401, 'unauthorized');
    assertApiError(await request(ctx.app).get(`/api/v1/token-imports/${randomUUID()}`), 401, 'unauthorized');
  });

  it("answers 404 for another tenant's import and for a malformed id", async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const theirs = await accepted(await raw(b, 'text/csv', buildCsv(randomSeeds(2, 'THEIRS'))));
    assertApiError(await apiClient(ctx.app, a.apiKey).get(`/token-imports/${theirs}`), 404, 'not_found');
    assertApiError(await apiClient(ctx.app, a.apiKey).get('/token-imports/not-a-uuid'), 404, 'not_found');
    assert.equal((await finished(b, theirs)).created, 2, 'the owner still sees it');
  });
});
