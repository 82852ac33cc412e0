/**
 * Console audit log (issue 13 §3): the filter form, rows in words with names, Newer / Older
 * links that keep the filters, the Export CSV link, and bad filters answered 422 beside the field.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createResource, createTenant, createUser } from '../helpers/factories';
import { signIn } from '../helpers/admin-agent';

const decode = (html: string) => html.replace(/&amp;/g, '&');

describe('console: audit log', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('shows a labelled filter form and readable rows: time on one line, names, actions in words', async () => {
    const t = await createTenant(ctx.services);
    const user = await createUser(ctx.services, t, { login: 'dave.console' });
    await ctx.services.users.block(t.actor, user.id);
    await ctx.services.db('audit_events').insert({ tenant_id: t.tenantId, actor_type: 'api_key', action: 'authenticate', target_type: 'user', target_id: user.id, result: 'failure', details: JSON.stringify({ login: 'dave.console', reason: 'wrong_code' }) });
    const agent = await signIn(ctx.app, t);
    const page = await agent.get('/admin/audit');
    assert.equal(page.status, 200);
    for (const [id, label] of [['f-from', 'From (date)'], ['f-to', 'To (date, included)'], ['f-q', 'Search'], ['f-user', 'User (login or id)'], ['f-actor', 'Actor (name or id)'], ['f-actorType', 'Actor type'], ['f-action', 'Action'], ['f-resource', 'Resource'], ['f-result', 'Result']]) {
      assert.match(page.text, new RegExp(`<label for="${id}">${label.replace(/[()]/g, '\\$&')}</label>`), `${id} is labelled`);
    }
    assert.match(page.text, /<option value="user\.block">Blocked user<\/option>/);
    const table = page.text.slice(page.text.indexOf('<table'));
    const row = table.split('<tr>').find((r) => r.includes('title="user.block"'))!;
    assert.match(row, /Blocked user/);
    assert.match(row, /dave\.console/, 'the target by login');
    assert.match(row, new RegExp(t.email), 'the actor by email');
    assert.match(row, /<time datetime="[^"]+">\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}<\/time>/, 'date and time on one line');
    assert.doesNotMatch(row, new RegExp(user.id), 'no raw ids for named things');
    const failure = table.split('<tr>').find((r) => r.includes('title="authenticate"'))!;
    assert.match(failure, /Failure<\/span> <span class="muted small">wrong code<\/span>/, 'a failure says why');
  });

  it('filters, keeps the filters in the Older / Newer and Export links, and answers htmx with the table', async () => {
    const t = await createTenant(ctx.services);
    const vpn = await createResource(ctx.services, t, { name: 'Console VPN' });
    await ctx.services.db('audit_events').insert(Array.from({ length: 55 }, (_, i) => ({ tenant_id: t.tenantId, actor_type: 'api_key', action: 'authenticate', resource_id: vpn.id, result: i % 5 === 0 ? 'failure' : 'success', details: JSON.stringify({ login: `u${i}` }) })));
    const agent = await signIn(ctx.app, t);
    const failures = await agent.get(`/admin/audit?action=authenticate&result=failure&resource=${vpn.id}`);
    assert.equal(failures.status, 200);
    const rows = failures.text.slice(failures.text.indexOf('<tbody')).split('<tr>').length - 1;
    assert.equal(rows, 11);
    assert.match(failures.text, /<option value="failure" selected>Failure<\/option>/, 'the form shows the filter');
    const exportLink = decode(failures.text.match(/href="(\/admin\/audit\/export\.csv[^"]*)"/)![1]);
    assert.equal(exportLink, `/admin/audit/export.csv?action=authenticate&resource=${vpn.id}&result=failure`);
    const csv = await agent.get(exportLink);
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-type']), /text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines.length, 12);
    assert.ok(lines.slice(1).every((l) => l.includes(',Authentication,authenticate,') && l.includes(',Console VPN,failure,')));

    const all = await agent.get('/admin/audit?action=authenticate');
    const older = decode(all.text.match(/href="([^"]+)"[^>]*rel="next">Older</)![1]);
    assert.match(older, /^\/admin\/audit\?action=authenticate&before=\d+$/);
    assert.doesNotMatch(all.text, /rel="prev"/, 'the first page has no Newer');
    const second = await agent.get(older).set('HX-Request', 'true');
    assert.doesNotMatch(second.text, /<html/);
    assert.equal(second.text.split('<tr>').length - 2, 5, 'the 5 older events');
    const newer = decode(second.text.match(/href="([^"]+)"[^>]*rel="prev">Newer</)![1]);
    assert.match(newer, /^\/admin\/audit\?action=authenticate&after=\d+$/);
    assert.doesNotMatch(second.text, /rel="next"/, 'the last page has no Older');
    const back = await agent.get(newer);
    assert.equal(back.text.slice(back.text.indexOf('<tbody')).split('<tr>').length - 1, 50);

    const none = await agent.get('/admin/audit?user=nobody.here');
    assert.match(none.text, /No event matches these filters/);
  });

  it('answers a bad filter with 422 and the message beside its field, never 500', async () => {
    const t = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, t);
    const res = await agent.get('/admin/audit?from=2026-12-31&to=2026-01-01&resource=zzz');
    assert.equal(res.status, 422);
    assert.match(res.text, /<p class="error" id="f-to-error">to must be after from\.<\/p>/);
    assert.match(res.text, /id="f-to"[^>]*aria-invalid="true" aria-describedby="f-to-error"/);
    assert.match(res.text, /resource must be a resource id/);
    const csv = await agent.get('/admin/audit/export.csv?from=nonsense');
    assert.equal(csv.status, 422);
    const fragment = await agent.get('/admin/audit?limit=0').set('HX-Request', 'true');
    assert.equal(fragment.status, 422);
    assert.match(fragment.text, /Check the filters: limit must be/);
  });

  it('lets auditors read and export, and shows only the tenant’s own events', async () => {
    const t = await createTenant(ctx.services);
    const auditor = await addAdmin(ctx.services, t, 'auditor');
    const theirs = await createTenant(ctx.services);
    await createUser(ctx.services, theirs, { login: 'foreign.login' });
    const agent = await signIn(ctx.app, auditor);
    const page = await agent.get('/admin/audit');
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /foreign\.login/);
    const csv = await agent.get('/admin/audit/export.csv');
    assert.equal(csv.status, 200);
    assert.match(csv.text, /Admin sign-in/);
    assert.doesNotMatch(csv.text, /foreign\.login/);
  });
});
