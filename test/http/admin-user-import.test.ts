import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createResource, createTenant, unique } from '../helpers/factories';
import { csrfOf, signIn, type Agent } from '../helpers/admin-agent';
import { waitUntil } from '../helpers/wait';

describe('console: user CSV import', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  async function upload(agent: Agent, file: { name: string; content: string | Buffer }, fields: Record<string, string> = {}, headers: Record<string, string> = {}) {
    const token = await csrfOf(agent, '/admin/users/import');
    let req = agent.post('/admin/users/import').set(headers).field('_csrf', token);
    for (const [name, value] of Object.entries(fields)) req = req.field(name, value);
    return req.attach('file', Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content), file.name);
  }

  it('is linked from the Users page and shows a labelled file input and "Update existing users" checkbox', async () => {
    const agent = await signIn(ctx.app, await createTenant(ctx.services));
    assert.match((await agent.get('/admin/users')).text, /<a class="button" href="\/admin\/users\/import">Import users<\/a>/);
    const res = await agent.get('/admin/users/import');
    assert.equal(res.status, 200);
    assert.match(res.text, /enctype="multipart\/form-data"/);
    assert.match(res.text, /<label for="f-file">CSV file<\/label>/);
    assert.match(res.text, /id="f-file" name="file" type="file"/);
    assert.match(res.text, /<input type="checkbox" id="f-updateExisting" name="updateExisting"[^>]*aria-describedby="f-updateExisting-hint"/);
    assert.match(res.text, /<label for="f-updateExisting">Update existing users<\/label>/);
  });

  it('imports an uploaded file, shows the finished progress and counts, the report with line numbers, and offers it as CSV', async () => {
    const tenant = await createTenant(ctx.services);
    const vpn = await createResource(ctx.services, tenant);
    const agent = await signIn(ctx.app, tenant);
    const good = Array.from({ length: 30 }, () => unique('web'));
    const csv = ['login,email,resources', ...good.map((l) => `${l},${l}@example.com,${vpn.name}`), 'bad,=cmd|calc,', `${good[0]},,`].join('\n');
    const res = await upload(agent, { name: 'staff.csv', content: csv });
    assert.equal(res.status, 303, res.text);
    const location = String(res.headers.location);
    assert.match(location, /^\/admin\/users\/imports\/[0-9a-f-]{36}$/);
    const fragment = await waitUntil(async () => {
      const f = await agent.get(location).set('HX-Request', 'true');
      return f.text.includes('Done') ? f : undefined;
    });
    assert.doesNotMatch(fragment.text, /<html|hx-trigger/);
    assert.match(fragment.text, /max="32" value="32"/);
    assert.match(fragment.text, /32 of 32 rows processed \(100%\)/);
    assert.match(fragment.text, /<dt>Created<\/dt><dd>30<\/dd>/);
    assert.match(fragment.text, /<dt>Skipped \(errors\)<\/dt><dd>2<\/dd>/);
    assert.match(fragment.text, /<tr><td data-label="Line">32<\/td><td data-label="Problem">email &quot;=cmd\|calc&quot;: Enter a valid email address/);
    assert.match(fragment.text, new RegExp(`<tr><td data-label="Line">33</td><td data-label="Problem">the login &quot;${good[0]}&quot; is already on line 2`));
    assert.match(fragment.text, new RegExp(`<a href="${location}/report.csv" download hx-boost="false">Download report \\(CSV\\)</a>`));

    const report = await agent.get(`${location}/report.csv`);
    assert.equal(report.status, 200);
    assert.match(String(report.headers['content-type']), /^text\/csv/);
    assert.equal(report.headers['content-disposition'], 'attachment; filename="staff-report.csv"');
    assert.deepEqual(report.text.replace(/^\uFEFF/, '').trim().split('\r\n'), [
      'line,message',
      '32,"email ""=cmd|calc"": Enter a valid email address, like name@example.com."',
      `33,"the login ""${good[0]}"" is already on line 2 of this file."`,
    ]);

    const page = await agent.get(location);
    assert.match(page.text, /<html[\s\S]*Import of staff\.csv/);
    assert.match((await agent.get('/admin/users/import')).text, /staff\.csv<\/a>/);
    assert.equal((await ctx.services.db('resource_users').where({ tenant_id: tenant.tenantId, resource_id: vpn.id })).length, 30);
  });

  it('polls every 500 ms while an import is running', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const id = randomUUID();
    await ctx.services.db('user_imports').insert({ id, tenant_id: tenant.tenantId, filename: 'slow.csv', status: 'running', total: 4000, processed: 1000, created: 900 });
    const fragment = await agent.get(`/admin/users/imports/${id}`).set('HX-Request', 'true');
    assert.match(fragment.text, new RegExp(`id="import-status"[^>]*hx-get="/admin/users/imports/${id}" hx-trigger="every 500ms" hx-swap="outerHTML"`));
    assert.match(fragment.text, /1,000 of 4,000 rows processed \(25%\)/);
    assert.doesNotMatch(fragment.text, /Download report/);
  });

  it('refuses a file with unknown columns in place, naming them, and imports nothing', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await upload(agent, { name: 'x.csv', content: 'login,Department\njdoe,Sales\n' }, { updateExisting: '1' }, { 'HX-Request': 'true' });
    assert.equal(res.status, 422);
    assert.doesNotMatch(res.text, /<html/);
    assert.match(res.text, /id="import-error"[^>]*role="alert"><h2[^>]*>Unknown column &quot;Department&quot;/);
    assert.match(res.text, /aria-invalid="true"/);
    assert.match(res.text, /id="f-updateExisting"[^>]*checked/);
    assert.equal((await ctx.services.db('user_imports').where({ tenant_id: tenant.tenantId })).length, 0);
  });

  it('refuses a file over 20 MB with 413 naming the limit', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await upload(agent, { name: 'big.csv', content: Buffer.alloc(20 * 1024 * 1024 + 1, 'a') });
    assert.equal(res.status, 413);
    assert.match(res.text, /larger than the limit of 20 MB/);
    assert.doesNotMatch(res.text, /at .*\.(ts|js):\d+/);
  });

  it('lets an auditor see imports but not start one, and needs the CSRF token', async () => {
    const owner = await createTenant(ctx.services);
    const auditor = await addAdmin(ctx.services, owner, 'auditor');
    const agent = await signIn(ctx.app, auditor);
    const form = await agent.get('/admin/users/import');
    assert.match(form.text, /<fieldset disabled>/);
    assert.equal((await upload(agent, { name: 'a.csv', content: 'login\nx\n' })).status, 403);
    const ownerAgent = await signIn(ctx.app, owner);
    assert.equal((await ownerAgent.post('/admin/users/import').attach('file', Buffer.from('login\nx\n'), 'x.csv')).status, 403);
    assert.equal((await ctx.services.db('user_imports').where({ tenant_id: owner.tenantId })).length, 0);
  });

  it("answers 404 for another tenant's import, its report, and a malformed id (SEC-20)", async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const theirs = await ctx.services.userImports.startImport(b.actor, { filename: 'b.csv', content: Buffer.from('login,email\nx,not-mail\n'), updateExisting: false });
    const agent = await signIn(ctx.app, a);
    assert.equal((await agent.get(`/admin/users/imports/${theirs.id}`)).status, 404);
    assert.equal((await agent.get(`/admin/users/imports/${theirs.id}/report.csv`)).status, 404);
    assert.equal((await agent.get('/admin/users/imports/not-a-uuid')).status, 404);
    assert.doesNotMatch((await agent.get('/admin/users/import')).text, /b\.csv/);
  });
});
