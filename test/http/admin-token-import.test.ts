import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant } from '../helpers/factories';
import { csrfOf, signIn, type Agent } from '../helpers/admin-agent';
import { waitUntil } from '../helpers/wait';
import { buildCsv, buildPskc, randomSeeds } from '../helpers/token-files';
import { buildPreSharedPskc } from '../helpers/pskc-preshared';
import { apiClient } from '../helpers/api-client';
import { generateHotp, generateTotp } from '../../src/otp/otp-engine';

describe('console: hardware token import', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  async function upload(agent: Agent, file: { name: string; content: string }, fields: Record<string, string> = {}) {
    const token = await csrfOf(agent, '/admin/tokens/import');
    let req = agent.post('/admin/tokens/import').field('_csrf', token);
    for (const [name, value] of Object.entries(fields)) req = req.field(name, value);
    return req.attach('file', Buffer.from(file.content), file.name);
  }

  it('shows the upload form with a labelled file input and an unsaved password field', async () => {
    const agent = await signIn(ctx.app, await createTenant(ctx.services));
    const res = await agent.get('/admin/tokens/import');
    assert.equal(res.status, 200);
    assert.match(res.text, /enctype="multipart\/form-data"/);
    assert.match(res.text, /<label for="f-file">/);
    assert.match(res.text, /id="f-file" name="file" type="file"/);
    assert.match(res.text, /name="password" type="password" autocomplete="off"/);
    assert.match(res.text, /<label for="f-key">PSKC pre-shared key<\/label>/);
    assert.match(res.text, /id="f-key" name="preSharedKey" type="password" autocomplete="off"[^>]*aria-describedby="f-key-hint"/);
  });

  it('imports an uploaded CSV file and shows the finished progress', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await upload(agent, { name: 'tokens.csv', content: buildCsv(randomSeeds(50, 'WEB')) });
    assert.equal(res.status, 303, res.text);
    const location = String(res.headers.location);
    assert.match(location, /^\/admin\/tokens\/imports\/[0-9a-f-]{36}$/);
    // The fragment polls itself while the import runs; once done it has no trigger, so polling stops.
    const fragment = await waitUntil(async () => {
      const f = await agent.get(location).set('HX-Request', 'true');
      return f.text.includes('Done') ? f : undefined;
    });
    assert.equal(fragment.status, 200);
    assert.doesNotMatch(fragment.text, /<html|hx-trigger/);
    assert.match(fragment.text, /<progress id="import-progress" class="import-progress" max="50" value="50">/);
    assert.match(fragment.text, /50 of 50 tokens processed \(100%\)/);
    const page = await agent.get(location);
    assert.match(page.text, /<html[\s\S]*Import of tokens\.csv/);
    assert.match((await agent.get('/admin/tokens/import')).text, /tokens\.csv<\/a>/);
    assert.equal(Number((await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId, type: 'hardware' }).count('* as n').first())!.n), 50);
  });

  it('polls every 500 ms while an import is running', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const id = randomUUID();
    await ctx.services.db('token_imports').insert({ id, tenant_id: tenant.tenantId, format: 'csv', filename: 'slow.csv', status: 'running', total: 4000, processed: 1000 });
    const fragment = await agent.get(`/admin/tokens/imports/${id}`).set('HX-Request', 'true');
    assert.match(fragment.text, new RegExp(`id="import-status"[^>]*hx-get="/admin/tokens/imports/${id}" hx-trigger="every 500ms" hx-swap="outerHTML"`));
    assert.match(fragment.text, /max="4000" value="1000"/);
    assert.match(fragment.text, /1,000 of 4,000 tokens processed \(25%\)/);
  });

  it('imports a password-protected PSKC file detected by its extension', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await upload(agent, { name: 'vendor.pskcxml', content: buildPskc(randomSeeds(5, 'PW'), { password: 'open sesame' }) }, { format: 'auto', password: 'open sesame' });
    assert.equal(res.status, 303, res.text);
    const id = String(res.headers.location).split('/').pop();
    const row = await waitUntil(async () => {
      const r = await ctx.services.db('token_imports').where({ id }).first();
      return r.status === 'done' ? r : undefined;
    });
    assert.equal(row.format, 'pskc');
  });

  it('imports PSKC files encrypted with a pre-shared AES-128 or AES-256 key, whose codes then verify through the API', async () => {
    for (const bytes of [16, 32]) {
      const tenant = await createTenant(ctx.services);
      const agent = await signIn(ctx.app, tenant);
      const key = randomBytes(bytes);
      const specs = randomSeeds(6, `PSK${bytes * 8}`);
      const typed = key.toString('hex').toUpperCase().replace(/(.{8})(?!$)/g, '$1 ');
      const res = await upload(agent, { name: 'vendor.xml', content: buildPreSharedPskc(specs, key, { encryptCounter: bytes === 32 }) }, { format: 'pskc', password: '', preSharedKey: typed });
      assert.equal(res.status, 303, res.text);
      const id = String(res.headers.location).split('/').pop();
      const row = await waitUntil(async () => {
        const r = await ctx.services.db('token_imports').where({ id }).first();
        return r.status === 'done' || r.status === 'failed' ? r : undefined;
      });
      assert.deepEqual([row.status, row.error, row.processed, row.file_sealed], ['done', null, 6, null], 'done, and the sealed file (with the key) dropped');
      const api = apiClient(ctx.app, tenant.apiKey);
      for (const s of specs) {
        const token = await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId, serial: s.serial }).first();
        const params = { algorithm: 'SHA1', digits: s.digits ?? 6 } as const;
        const code = s.kind === 'totp' ? generateTotp(s.seed, Date.now(), { ...params, kind: 'totp', period: s.period ?? 30 }) : generateHotp(s.seed, s.counter ?? 0, params);
        const verified = await api.post(`/tokens/${token.id}/verify`, { otp: code });
        assert.deepEqual([verified.status, verified.body], [200, { result: true }], `${s.serial} (AES-${bytes * 8})`);
      }
      const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'token.import.start' }).first();
      assert.doesNotMatch(JSON.stringify(audit.details), new RegExp(key.toString('hex'), 'i'), 'the key is not audited');
    }
  });

  it('refuses a pre-shared-key PSKC file whole when the key is wrong or missing, and imports nothing', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const key = randomBytes(16);
    const file = { name: 'vendor.pskcxml', content: buildPreSharedPskc(randomSeeds(5, 'WRONG'), key, { keyName: 'Acme-PSK' }) };
    const wrongKey = randomBytes(16).toString('hex');
    const wrong = await upload(agent, file, { preSharedKey: wrongKey });
    assert.equal(wrong.status, 422);
    assert.match(wrong.text, /KeyPackage 1 \(serial WRONG-000001, line \d+\): Key\/Data\/Secret\/ValueMAC (cannot be checked|does not match): the pre-shared key is wrong[^<]*Nothing was imported\./);
    assert.doesNotMatch(wrong.text, new RegExp(wrongKey, 'i'), 'the key typed is not echoed back');
    const missing = await upload(agent, file, { password: 'not this' });
    assert.equal(missing.status, 422);
    assert.match(missing.text, /This PSKC file is encrypted with a pre-shared key \(&quot;Acme-PSK&quot;\): enter that key, in hex, to import it\./);
    const short = await upload(agent, file, { preSharedKey: randomBytes(32).toString('hex') });
    assert.match(short.text, /The pre-shared key has 32 bytes but the file is encrypted with AES-128/);
    assert.equal((await ctx.services.db('token_imports').where({ tenant_id: tenant.tenantId })).length, 0);
    assert.equal((await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId })).length, 0);
  });

  it('refuses a malformed file whole with the bad line named, re-rendering the form in place for htmx', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const csv = buildCsv(randomSeeds(5, 'ERR')).replace('ERR-000003,', 'ERR 000003,');
    const res = await upload(agent, { name: 'bad.csv', content: csv });
    assert.equal(res.status, 422);
    assert.match(res.text, /<html/);
    assert.match(res.text, /Line 4: the serial &quot;ERR 000003&quot; may only use letters/);
    const token = await csrfOf(agent, '/admin/tokens/import');
    const fragment = await agent.post('/admin/tokens/import').set('HX-Request', 'true').set('x-csrf-token', token).attach('file', Buffer.from(csv), 'bad.csv');
    assert.equal(fragment.status, 422);
    assert.doesNotMatch(fragment.text, /<html/);
    assert.match(fragment.text, /<form[^>]*id="import-form"[\s\S]*Line 4:/);
    assert.equal((await ctx.services.db('token_imports').where({ tenant_id: tenant.tenantId })).length, 0);
    assert.equal((await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId })).length, 0);
  });

  it('accepts an htmx upload with the CSRF header and answers with HX-Redirect', async () => {
    const agent = await signIn(ctx.app, await createTenant(ctx.services));
    const token = await csrfOf(agent, '/admin/tokens/import');
    const res = await agent.post('/admin/tokens/import').set('HX-Request', 'true').set('x-csrf-token', token).attach('file', Buffer.from(buildCsv(randomSeeds(2, 'HX'))), 'hx.csv');
    assert.equal(res.status, 204);
    assert.match(String(res.headers['hx-redirect']), /^\/admin\/tokens\/imports\//);
  });

  it('answers a truncated or boundary-less multipart upload with 400, not 500', async () => {
    const agent = await signIn(ctx.app, await createTenant(ctx.services));
    const token = await csrfOf(agent, '/admin/tokens/import');
    const cut = '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nserial,';
    for (const [type, body] of [['multipart/form-data; boundary=xyz', cut], ['multipart/form-data', 'whatever']]) {
      const res = await agent.post('/admin/tokens/import').set('x-csrf-token', token).set('Content-Type', type).send(Buffer.from(body));
      assert.equal(res.status, 400, `${type}: ${res.status}`);
      assert.match(res.text, /The upload could not be read/);
      assert.doesNotMatch(res.text, /Something went wrong on our side/);
    }
  });

  it('refuses an upload without a CSRF token (SEC-19)', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await agent.post('/admin/tokens/import').attach('file', Buffer.from(buildCsv(randomSeeds(2, 'CSRF'))), 'x.csv');
    assert.equal(res.status, 403);
    assert.equal((await ctx.services.db('token_imports').where({ tenant_id: tenant.tenantId })).length, 0);
  });

  it('lets an auditor see imports but not start one', async () => {
    const owner = await createTenant(ctx.services);
    const auditor = await addAdmin(ctx.services, owner, 'auditor');
    const agent = await signIn(ctx.app, auditor);
    const form = await agent.get('/admin/tokens/import');
    assert.equal(form.status, 200);
    assert.match(form.text, /<fieldset disabled>/);
    const res = await upload(agent, { name: 'a.csv', content: buildCsv(randomSeeds(2, 'AUD')) });
    assert.equal(res.status, 403);
    assert.equal((await ctx.services.db('token_imports').where({ tenant_id: owner.tenantId })).length, 0);
  });

  it("answers 404 for another tenant's import and for a malformed id (SEC-20)", async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const theirs = await ctx.services.tokenImports.startImport(b.actor, { filename: 'b.csv', content: Buffer.from(buildCsv(randomSeeds(2, 'B'))) });
    const agent = await signIn(ctx.app, a);
    assert.equal((await agent.get(`/admin/tokens/imports/${theirs.id}`)).status, 404);
    assert.equal((await agent.get(`/admin/tokens/imports/${theirs.id}`).set('HX-Request', 'true')).status, 404);
    assert.equal((await agent.get('/admin/tokens/imports/not-a-uuid')).status, 404);
    assert.doesNotMatch((await agent.get('/admin/tokens/import')).text, /b\.csv/);
  });
});
