import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser, unique, type TestTenant } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { freePort, waitUntil } from '../helpers/wait';

describe('api: user CSV import', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const postCsv = (tenant: TestTenant, csv: string | Buffer, query = '') =>
    apiClient(ctx.app, tenant.apiKey).post(`/user-imports${query}`).set('Content-Type', 'text/csv').send(Buffer.isBuffer(csv) ? csv : Buffer.from(csv));

  async function finished(tenant: TestTenant, id: string) {
    return waitUntil(async () => {
      const res = await apiClient(ctx.app, tenant.apiKey).get(`/user-imports/${id}`);
      assert.equal(res.status, 200, res.text);
      return res.body.status === 'done' || res.body.status === 'failed' ? res.body : undefined;
    }, 20_000, 'the import to finish');
  }

  it('imports a text/csv body, assigns resources by name or id, reports bad rows by line, and creates nothing the second time', async () => {
    const tenant = await createTenant(ctx.services);
    const vpn = await createResource(ctx.services, tenant, { name: unique('VPN') });
    const wiki = await createResource(ctx.services, tenant, { name: unique('Wiki') });
    const a = unique('alice');
    const b = unique('bob');
    const csv = [
      '\uFEFFlogin,email,phone,firstName,lastName,resources',
      `${a},${a}@example.com,+14155550123,Alice,"Smith, Jr.","${vpn.name.toUpperCase()};${wiki.id}"`,
      `${b},not-an-email,,,,`,
      `${b}-2,,0612345678,,,`,
      `${a.toUpperCase()},,,,,`,
      `${b}-3,,,,,no such resource`,
      `${b}-4,,,${'x'.repeat(101)},,`,
      `${b}-5,,,"quoted ""nick""",,${vpn.name}`,
    ].join('\r\n');
    const res = await postCsv(tenant, csv);
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['id', 'status']);
    assert.equal(res.body.status, 'queued');
    assert.equal(res.headers.location, `/api/v1/user-imports/${res.body.id}`);

    const done = await finished(tenant, res.body.id);
    assert.equal(done.status, 'done');
    assert.deepEqual({ total: done.total, processed: done.processed, created: done.created, updated: done.updated, unchanged: done.unchanged }, { total: 7, processed: 7, created: 2, updated: 0, unchanged: 0 });
    assert.deepEqual(done.errors.map((e: { line: number }) => e.line), [3, 4, 5, 6, 7]);
    assert.match(done.errors[0].message, /email "not-an-email": Enter a valid email address/);
    assert.match(done.errors[1].message, /phone "0612345678": Enter the number in international format/);
    assert.match(done.errors[2].message, new RegExp(`login "${a.toUpperCase()}" is already on line 2`));
    assert.match(done.errors[3].message, /unknown resource "no such resource"/);
    assert.match(done.errors[4].message, /firstName is too long/);

    const alice = (await apiClient(ctx.app, tenant.apiKey).get(`/users?q=${a}`)).body.items[0];
    assert.deepEqual({ login: alice.login, email: alice.email, phone: alice.phone, firstName: alice.firstName, lastName: alice.lastName }, { login: a, email: `${a}@example.com`, phone: '+14155550123', firstName: 'Alice', lastName: 'Smith, Jr.' });
    const assigned = (await apiClient(ctx.app, tenant.apiKey).get(`/users/${alice.id}/resources`)).body.items.map((i: { resourceId: string }) => i.resourceId).sort();
    assert.deepEqual(assigned, [vpn.id, wiki.id].sort());

    // One audit event for the outcome, with the counts; none per row.
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId }).whereIn('action', ['user.import.start', 'user.import.done', 'user.create', 'resource.user.assign']).select('action', 'details');
    assert.deepEqual(audit.map((e) => e.action).sort(), ['user.import.done', 'user.import.start']);
    assert.deepEqual(audit.find((e) => e.action === 'user.import.done')!.details, { filename: '', total: 7, created: 2, updated: 0, unchanged: 0, errors: 5 });

    const again = await finished(tenant, (await postCsv(tenant, csv)).body.id);
    assert.deepEqual({ created: again.created, updated: again.updated, unchanged: again.unchanged, errors: again.errors.length }, { created: 0, updated: 0, unchanged: 2, errors: 5 });
    assert.equal(Number((await ctx.services.db('users').where({ tenant_id: tenant.tenantId }).count('* as n').first())!.n), 2);
  });

  it('takes a multipart file and, with updateExisting, changes only the given fields of existing users', async () => {
    const tenant = await createTenant(ctx.services);
    const vpn = await createResource(ctx.services, tenant);
    const existing = await createUser(ctx.services, tenant, { email: 'old@example.com', firstName: 'Old', lastName: 'Name' });
    const untouched = await createUser(ctx.services, tenant, { email: 'same@example.com' });
    const csv = `login,email,firstName,resources\n${existing.login.toUpperCase()},new@example.com,,${vpn.name}\n${untouched.login},same@example.com,,\n`;

    const plain = await apiClient(ctx.app, tenant.apiKey).post('/user-imports').attach('file', Buffer.from(csv), 'people.csv');
    assert.equal(plain.status, 202, plain.text);
    const first = await finished(tenant, plain.body.id);
    assert.deepEqual({ created: first.created, updated: first.updated, unchanged: first.unchanged, filename: first.filename }, { created: 0, updated: 0, unchanged: 2, filename: 'people.csv' });
    assert.equal((await ctx.services.users.get(tenant.actor, existing.id)).email, 'old@example.com');

    const upd = await apiClient(ctx.app, tenant.apiKey).post('/user-imports').field('updateExisting', 'true').attach('file', Buffer.from(csv), 'people.csv');
    const second = await finished(tenant, upd.body.id);
    assert.deepEqual({ created: second.created, updated: second.updated, unchanged: second.unchanged, updateExisting: second.updateExisting }, { created: 0, updated: 1, unchanged: 1, updateExisting: true });
    const after = await ctx.services.users.get(tenant.actor, existing.id);
    assert.deepEqual({ email: after.email, firstName: after.firstName, lastName: after.lastName, login: after.login }, { email: 'new@example.com', firstName: 'Old', lastName: 'Name', login: existing.login });
    assert.deepEqual((await ctx.services.users.assignmentsOf(tenant.actor, existing.id)).map((x) => x.resourceId), [vpn.id]);
  });

  it('refuses a file with unknown columns naming them, an empty file, and a body that is not CSV, with clear 4xx', async () => {
    const tenant = await createTenant(ctx.services);
    const unknown = await postCsv(tenant, 'login,mail,department\nx,y,z\n');
    assertApiError(unknown, 422, 'validation_failed');
    assert.match(unknown.body.error.message, /Unknown columns "mail", "department"/);
    assertApiError(await postCsv(tenant, 'login\n'), 422, 'validation_failed');
    assertApiError(await postCsv(tenant, ''), 422, 'validation_failed');
    const latin1 = await postCsv(tenant, Buffer.from('login,lastName\nx,M\xfcller\n', 'latin1'));
    assertApiError(latin1, 422, 'validation_failed');
    assert.match(latin1.body.error.message, /not UTF-8/);
    const asJson = await apiClient(ctx.app, tenant.apiKey).post('/user-imports', { login: 'x' });
    assertApiError(asJson, 415, 'unsupported_media_type');
    assert.match(asJson.body.error.message, /text\/csv/);
    assertApiError(await postCsv(tenant, 'login\nx\n', '?updateExisting=maybe'), 400, 'bad_request');
    assert.equal(Number((await ctx.services.db('user_imports').where({ tenant_id: tenant.tenantId }).count('* as n').first())!.n), 0);
  });

  it('refuses a file over 20 MB with 413 naming the limit', async () => {
    const tenant = await createTenant(ctx.services);
    const big = Buffer.alloc(20 * 1024 * 1024 + 10, 'a');
    big.write('login\n');
    const res = await postCsv(tenant, big);
    assertApiError(res, 413, 'too_large');
    assert.match(res.body.error.message, /20 MB/);
    const multipart = await apiClient(ctx.app, tenant.apiKey).post('/user-imports').attach('file', big, 'big.csv');
    assertApiError(multipart, 413, 'too_large');
    assert.match(multipart.body.error.message, /20 MB/);
  });

  it('turns NUL bytes and control characters into row errors, and is not refused by the JSON input guard for a long body', async () => {
    const tenant = await createTenant(ctx.services);
    const rows = Array.from({ length: 2000 }, (_, i) => `${unique('bulk')}-${i},,Name ${i}`);
    const csv = ['login,email,lastName', ...rows, 'nul-user,,a\u0000b', 'ctl-user,,a\u0007b', '"bad\u0000login",,', 'ok-user,,Ok'].join('\n');
    assert.ok(csv.length > 20_000);
    const res = await postCsv(tenant, csv);
    assert.equal(res.status, 202, res.text);
    const done = await finished(tenant, res.body.id);
    assert.equal(done.status, 'done');
    assert.equal(done.created, 2001);
    assert.deepEqual(done.errors.map((e: { line: number }) => e.line), [2002, 2003, 2004]);
    assert.match(done.errors[0].message, /"lastName" contains a NUL byte/);
    assert.match(done.errors[1].message, /"lastName" contains a control character/);
    assert.match(done.errors[2].message, /"login" contains a NUL byte/);
  });

  it('answers 404 for another tenant\'s import or a malformed id, and refuses auditors nothing they can do via API keys', async () => {
    const owner = await createTenant(ctx.services);
    const other = await createTenant(ctx.services);
    const started = await postCsv(owner, `login\n${unique('u')}\n`);
    await finished(owner, started.body.id);
    assertApiError(await apiClient(ctx.app, other.apiKey).get(`/user-imports/${started.body.id}`), 404, 'not_found');
    assertApiError(await apiClient(ctx.app, owner.apiKey).get('/user-imports/not-a-uuid'), 404, 'not_found');
    assertApiError(await apiClient(ctx.app, owner.apiKey).get(`/user-imports/${randomUUID()}`), 404, 'not_found');
    const anonymous = await apiClient(ctx.app, 'mfa_wrong').post('/user-imports').set('Content-Type', 'text/csv').send('login\nx\n');
    assert.equal(anonymous.status, 401);
  });

  it('with Redis unreachable, an upload answers 503 at once and the import is marked failed, not stuck at zero', async () => {
    const down = await createTestContext({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, QUEUE_PREFIX: unique('t') });
    try {
      const tenant = await createTenant(down.services);
      const started = performance.now();
      const res = await apiClient(down.app, tenant.apiKey).post('/user-imports').set('Content-Type', 'text/csv').send(Buffer.from(`login\n${unique('u')}\n`));
      const ms = performance.now() - started;
      assertApiError(res, 503, 'unavailable');
      assert.match(res.body.error.message, /could not be queued/);
      assert.ok(ms < 3_000, `answered after ${Math.round(ms)} ms`);
      const [row] = await down.services.db('user_imports').where({ tenant_id: tenant.tenantId });
      assert.equal(row.status, 'failed');
      assert.equal(row.file_sealed, null);
    } finally {
      await Promise.race([down.close(), new Promise((r) => setTimeout(r, 5_000))]);
    }
  });

  it('judges each row exactly as POST /users judges the same fields', async () => {
    const tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const cases: Array<Record<string, string>> = [
      { email: 'Mixed.Case@Example.com' },
      { email: 'two@@example.com' },
      { email: 'no-tld@localhost' },
      { phone: '+14155550123' },
      { phone: '+0123456789' },
      { phone: '+1 415 555 0123' },
      { phone: '+123456' },
      { firstName: 'Zoë', lastName: "O'Brien-Łukasz" },
      { firstName: 'x'.repeat(100) },
      { firstName: 'x'.repeat(101) },
      { login: 'ünïcødé.user' },
      { login: 'with/slash' },
      { login: 'tab\there' },
    ];
    const rows = cases.map((c, i) => ({ login: c.login ?? `${unique('p')}-${i}`, email: c.email ?? '', phone: c.phone ?? '', firstName: c.firstName ?? '', lastName: c.lastName ?? '' }));
    const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
    const csv = ['login,email,phone,firstName,lastName', ...rows.map((r) => [r.login, r.email, r.phone, r.firstName, r.lastName].map(quote).join(','))].join('\n');
    const done = await finished(tenant, (await postCsv(tenant, csv)).body.id);
    const failedLines = new Set(done.errors.map((e: { line: number }) => e.line));
    for (const [i, row] of rows.entries()) {
      // The same fields through the users API, in a tenant of its own so logins never clash.
      const other = await createTenant(ctx.services);
      const body = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== ''));
      const res = await apiClient(ctx.app, other.apiKey).post('/users', body);
      assert.ok(res.status === 201 || res.status === 422 || res.status === 400, res.text);
      assert.equal(failedLines.has(i + 2), res.status !== 201, `line ${i + 2} (${JSON.stringify(body)}): API answered ${res.status}, import ${failedLines.has(i + 2) ? 'skipped' : 'created'} it`);
      if (res.status === 201) {
        const imported = (await api.get(`/users?q=${encodeURIComponent(row.login)}`)).body.items.find((u: { login: string }) => u.login.toLowerCase() === row.login.toLowerCase());
        assert.deepEqual({ email: imported.email, phone: imported.phone, firstName: imported.firstName, lastName: imported.lastName }, { email: res.body.email, phone: res.body.phone, firstName: res.body.firstName, lastName: res.body.lastName });
      }
    }
  });
});
