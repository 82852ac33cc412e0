import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant } from '../helpers/factories';
import { csrfOf, signIn, type Agent } from '../helpers/admin-agent';
import { waitUntil } from '../helpers/wait';
import { buildCsv, buildPskc, randomSeeds } from '../helpers/token-files';

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
