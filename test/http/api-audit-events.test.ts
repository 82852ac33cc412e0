/**
 * GET /api/v1/audit-events and /audit-events.csv (issue 13 §3): filters, cursor, validation
 * messages, tenant isolation, names instead of ids, and a 50 000-event CSV export read as a
 * stream while the server's heap is watched.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { seedAuditEvents } from '../helpers/audit-seed';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('api: audit events', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('lists events newest first with names and words, filtered, paged by cursor', async () => {
    const t = await createTenant(ctx.services);
    const api = apiClient(ctx.app, t.apiKey);
    const vpn = await createResource(ctx.services, t, { name: 'API VPN' });
    const created = await api.post('/users', { login: 'carol.api' });
    assert.equal(created.status, 201);
    assert.ok([200, 204].includes((await api.put(`/resources/${vpn.id}/users/${created.body.id}`)).status));
    assert.ok([200, 204].includes((await api.post(`/users/${created.body.id}/block`)).status));

    const res = await api.get('/audit-events?limit=2');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['items', 'nextCursor', 'prevCursor']);
    const [block, assign] = res.body.items;
    assert.equal(block.action, 'user.block');
    assert.equal(block.actionText, 'Blocked user');
    assert.equal(block.actor.type, 'api_key');
    assert.ok(block.actor.name, 'the API key by name');
    assert.deepEqual(block.target, { type: 'user', id: created.body.id, name: 'carol.api' });
    assert.match(block.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(assign.action, 'resource.user.assign');
    assert.deepEqual(assign.resource, { id: vpn.id, name: 'API VPN' });
    assert.equal(typeof res.body.nextCursor, 'string');
    assert.equal(res.body.prevCursor, null);

    const next = await api.get(`/audit-events?limit=2&before=${res.body.nextCursor}`);
    assert.equal(next.status, 200);
    assert.equal(next.body.items[0].action, 'user.create');
    assert.ok(!next.body.items.some((e: { id: string }) => res.body.items.some((f: { id: string }) => f.id === e.id)), 'no event twice');
    assert.equal(next.body.prevCursor, next.body.items[0].id);

    const byUser = await api.get('/audit-events?user=CAROL.api');
    assert.deepEqual(byUser.body.items.map((e: { action: string }) => e.action), ['user.block', 'resource.user.assign', 'user.create']);
    const filtered = await api.get(`/audit-events?action=resource.user.assign&resource=${vpn.id}&result=success&actorType=api_key&from=2020-01-01&to=2999-12-31T00:00:00Z`);
    assert.deepEqual(filtered.body.items.map((e: { action: string }) => e.action), ['resource.user.assign']);
    const search = await api.get('/audit-events?q=api%20vpn');
    assert.deepEqual(search.body.items.map((e: { action: string }) => e.action), ['resource.user.assign', 'resource.create']);
    assert.deepEqual((await api.get('/audit-events?result=failure')).body, { items: [], nextCursor: null, prevCursor: null });
  });

  it('answers 422 naming each bad parameter, never 500', async () => {
    const t = await createTenant(ctx.services);
    const api = apiClient(ctx.app, t.apiKey);
    const cases: Array<[string, string, RegExp]> = [
      ['from=31/12/2026', 'from', /ISO 8601/],
      ['to=2026-13-01', 'to', /date/],
      ['from=2026-03-02&to=2026-03-01', 'to', /after from/],
      ['limit=500', 'limit', /1 to 200/],
      ['limit=abc', 'limit', /whole number/],
      ['before=abc', 'before', /event id/],
      ['before=1&after=2', 'after', /not both/],
      ['resource=123', 'resource', /UUID/],
      ['result=ok', 'result', /success or failure/],
      ['actorType=bot', 'actorType', /one of/],
      ['action=%27%3B%20drop', 'action', /action id/],
      ['user=a&user=b', 'user', /once/],
      ['page=2', 'page', /not recognised/],
    ];
    for (const [query, field, message] of cases) {
      const res = await api.get(`/audit-events?${query}`);
      assertApiError(res, 422, 'validation_failed');
      assert.match(res.body.error.fields[field] ?? '', message, `${query}: ${res.text}`);
    }
    const paged = await api.get('/audit-events.csv?limit=5');
    assertApiError(paged, 422, 'validation_failed');
    assert.match(paged.body.error.fields.limit, /every event/);
    assertApiError(await api.get('/audit-events?q=%00'), 400, 'bad_request');
  });

  it('never shows another tenant’s events; its ids as filters or cursor find nothing', async () => {
    const mine = await createTenant(ctx.services);
    const theirs = await createTenant(ctx.services);
    const theirUser = await createUser(ctx.services, theirs, { login: 'secret.user' });
    const theirResource = await createResource(ctx.services, theirs, { name: 'Their VPN' });
    const api = apiClient(ctx.app, mine.apiKey);
    const all = await api.get('/audit-events?limit=200');
    assert.equal(all.status, 200);
    assert.doesNotMatch(all.text, /secret\.user|Their VPN/);
    assert.ok(all.body.items.length > 0);
    for (const query of [`user=${theirUser.id}`, `resource=${theirResource.id}`, `q=${theirUser.id}`, 'q=secret.user', `actor=${theirs.adminId}`]) {
      const res = await api.get(`/audit-events?${query}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.items, [], query);
    }
    const theirEvent = await ctx.services.db('audit_events').where({ tenant_id: theirs.tenantId }).max('id as id').first();
    assert.deepEqual((await api.get(`/audit-events?after=${theirEvent!.id}`)).body.items, []);
    const csv = await api.get('/audit-events.csv');
    assert.equal(csv.status, 200);
    assert.doesNotMatch(csv.text, /secret\.user|Their VPN/);
  });

  it('exports 50 000 events as CSV streamed in batches: every row once, heap flat, formulas defused', { timeout: 180_000 }, async () => {
    const t = await createTenant(ctx.services);
    const formula = await ctx.services.apiKeys.create(t.actor, { name: '=HYPERLINK("http://evil.test")' });
    const users = await ctx.services.db.raw(`INSERT INTO users (tenant_id, login) SELECT ?, 'csv' || g FROM generate_series(1, 500) g RETURNING id`, [t.tenantId]);
    const vpn = await createResource(ctx.services, t, { name: 'CSV VPN' });
    const count = 50_000;
    await seedAuditEvents(ctx.services.db, { tenantId: t.tenantId, count, userIds: users.rows.map((r: { id: string }) => r.id), resourceIds: [vpn.id], apiKeyIds: [formula.key.id], adminIds: [t.adminId], chunk: 25_000 });
    await ctx.services.db.raw('ANALYZE audit_events');
    const total = Number((await ctx.services.db('audit_events').where({ tenant_id: t.tenantId }).count('* as n').first())!.n);

    const server = ctx.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      gc();
      const baseline = process.memoryUsage().heapUsed;
      let lines = 0;
      let bytes = 0;
      let midHeap = 0;
      let header = '';
      let sample = '';
      let tail = '';
      const status = await new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/api/v1/audit-events.csv', headers: { Authorization: `Bearer ${t.apiKey}` } }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            bytes += chunk.length;
            const text = tail + chunk;
            const parts = text.split('\r\n');
            tail = parts.pop()!;
            if (!header) header = parts[0];
            if (!sample && lines > 10) sample = parts[0];
            lines += parts.length;
            // Halfway, what the process still holds (after a collection) is what the export keeps.
            if (!midHeap && lines > count / 2) {
              gc();
              midHeap = process.memoryUsage().heapUsed;
            }
          });
          res.on('end', () => resolve(res.statusCode!));
          res.on('error', reject);
        }).on('error', reject);
      });
      assert.equal(status, 200);
      assert.equal(tail, '', 'ends with a line break');
      assert.equal(lines, total + 1, 'a header and one line per event');
      assert.match(header, /^\uFEFFtime,actor type,actor,action,action id,/);
      assert.match(sample, /^\d{4}-\d{2}-\d{2}T/);
      const growthMb = (midHeap - baseline) / 1048576;
      const dataMb = bytes / 1048576;
      console.log(`# export: ${lines - 1} rows, ${dataMb.toFixed(1)} MB of CSV; heap held halfway: ${growthMb.toFixed(1)} MB over the start`);
      // The whole export as rows would hold several times the CSV's size; one batch is far less.
      assert.ok(growthMb < Math.max(12, dataMb * 0.75), `heap grew ${growthMb.toFixed(1)} MB for ${dataMb.toFixed(1)} MB of CSV`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }

    const small = await apiClient(ctx.app, t.apiKey).get('/audit-events.csv?action=authenticate&result=failure&to=2999-01-01');
    assert.equal(small.status, 200);
    assert.match(String(small.headers['content-type']), /text\/csv/);
    assert.match(String(small.headers['content-disposition']), /attachment; filename="audit-log-\d{4}-\d{2}-\d{2}\.csv"/);
    const rows = small.text.trim().split('\r\n');
    assert.equal(rows.length - 1, Math.floor(count * 0.7 / 10), 'the filters apply to the export');
    assert.ok(rows.slice(1).every((r) => r.includes(`"'=HYPERLINK(""http://evil.test"")"`)), 'a formula-looking name is quoted and prefixed');
    assert.ok(rows.slice(1).every((r) => r.includes(',Authentication,authenticate,')));
  });
});
