/** Issue 12 §4 in the console: the resource's Users tab shows enrolment progress, filters by state, exports CSV. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createResource, createTenant, type TestTenant } from '../helpers/factories';
import { signIn, type Agent } from '../helpers/admin-agent';
import { memberIn, type MemberState } from '../helpers/enrollment-states';

/** Logins of the users table (links to user pages), in page order. */
const listed = (html: string) => [...html.matchAll(/<a href="\/admin\/users\/[0-9a-f-]+">([^<]+)<\/a>/g)].map((m) => m[1]);

describe('console: enrolment progress on the Users tab (issue 12 §4)', () => {
  let ctx: TestContext;
  let tenant: TestTenant;
  let resourceId: string;
  /** One signed-in owner for the file: a second TOTP sign-in in the same step would be a replay. */
  let agent: Agent;
  before(async () => {
    ctx = await createTestContext();
    tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant);
    resourceId = resource.id;
    const states: MemberState[] = ['enrolled', 'enrolled', 'enrolled', 'invited', 'invitation_expired', 'cancelled', 'not_invited', 'not_invited'];
    for (const [i, state] of states.entries()) await memberIn(ctx.services, tenant, resource.id, state, { login: `${state}-${i}`, email: `${state}-${i}@example.test`, firstName: 'Ann', lastName: 'Lee' });
    // Spreadsheet formula in a login: the export must neutralise it.
    await memberIn(ctx.services, tenant, resource.id, 'invited', { login: '@cmd-9', email: 'x@example.test', firstName: '=SUM(A1)', lastName: 'Lee' });
    agent = await signIn(ctx.app, tenant);
  });
  after(() => ctx.close());

  it('shows the progress as text, an accessible <progress>, the counts, and an SVG chart with a table alternative', async () => {
    // The tab itself does not wait for the panel (issue 14): a placeholder loads it once shown,
    // and a noscript link opens the tab with the panel for a browser without JavaScript.
    const tab = await agent.get(`/admin/resources/${resourceId}/users`);
    assert.equal(tab.status, 200);
    const progressUrl = `/admin/resources/${resourceId}/users/progress`;
    assert.match(tab.text, new RegExp(`<section id="enrollment-progress"[^>]* hx-get="${progressUrl}" hx-trigger="load" hx-target="this" hx-swap="outerHTML">`));
    assert.match(tab.text, new RegExp(`<noscript><p><a href="${progressUrl}">Show the enrolment progress</a></p></noscript>`));
    assert.doesNotMatch(tab.text, /enrolled \(33 %\)/);

    const res = await agent.get(progressUrl);
    assert.equal(res.status, 200);
    assert.equal(listed(res.text).length, 9, 'without JavaScript: the whole tab, with the panel');
    assert.match(res.text, /3 of 9 enrolled \(33 %\)/);
    assert.match(res.text, /<progress[^>]* max="9" value="3"[^>]*aria-valuetext="3 of 9 enrolled \(33 %\)"/);
    for (const [name, n] of [['assigned', 9], ['enrolled', 3], ['invited', 2], ['notInvited', 4]]) assert.match(res.text, new RegExp(`data-count="${name}">${n}<`));
    assert.match(res.text, /<svg [^>]*role="img"[^>]*aria-labelledby="enrollment-chart-title enrollment-chart-desc"/);
    assert.match(res.text, /<polyline points="[\d., ]+" class="line"\/>/);
    const table = res.text.match(/<details class="enrollment-table">([\s\S]*?)<\/details>/);
    assert.ok(table, 'a table alternative to the chart');
    const today = new Date().toISOString().slice(0, 10);
    assert.match(table[1], new RegExp(`<tr><td>${today}</td><td>3</td></tr>`), 'today: 3 enrolled');
    // The htmx fragment is the panel alone, replacing the placeholder of the same id.
    const fragment = await agent.get(progressUrl).set('HX-Request', 'true');
    assert.match(fragment.text, /^<section id="enrollment-progress" /);
    assert.match(fragment.text, /3 of 9 enrolled/);
    assert.doesNotMatch(fragment.text, /<html|<table class="list">\s*<thead><tr><th scope="col"><span class="visually-hidden">Select/);
  });

  it('filters the list by each enrolment status with a plain GET form, and keeps the filter in the pager and the export link', async () => {
    const all = await agent.get(`/admin/resources/${resourceId}/users`);
    assert.match(all.text, /<form [^>]*method="get" action="\/admin\/resources\/[0-9a-f-]+\/users"/);
    assert.equal(listed(all.text).length, 9);
    const expect: Record<string, string[]> = {
      enrolled: ['enrolled-0', 'enrolled-1', 'enrolled-2'],
      invited: ['@cmd-9', 'invited-3'],
      invitation_expired: ['invitation_expired-4'],
      not_invited: ['cancelled-5', 'not_invited-6', 'not_invited-7'],
    };
    for (const [status, logins] of Object.entries(expect)) {
      const res = await agent.get(`/admin/resources/${resourceId}/users?status=${status}`);
      assert.equal(res.status, 200);
      assert.deepEqual(listed(res.text), logins, status);
      assert.match(res.text, new RegExp(`<option value="${status}" selected>`));
      assert.match(res.text, new RegExp(`href="/admin/resources/${resourceId}/users.csv\\?status=${status}"`));
    }
    const paged = await agent.get(`/admin/resources/${resourceId}/users?status=not_invited&perPage=2`);
    assert.match(paged.text, new RegExp(`/admin/resources/${resourceId}/users\\?status=not_invited&amp;page=2`));
    // A garbled status shows everyone rather than failing.
    const garbled = await agent.get(`/admin/resources/${resourceId}/users?status=%3Cscript%3E`);
    assert.equal(garbled.status, 200);
    assert.equal(listed(garbled.text).length, 9);
  });

  it('exports the filtered list as CSV with formula-safe cells', async () => {
    const res = await agent.get(`/admin/resources/${resourceId}/users.csv?status=invited`).buffer(true).parse((r, cb) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString('utf8')));
      r.on('end', () => cb(null, body));
    });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv; charset=utf-8/);
    assert.match(String(res.headers['content-disposition']), /^attachment; filename="enrolment-invited\.csv"$/);
    assert.equal(res.headers['cache-control'], 'no-store');
    const lines = (res.body as string).replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    assert.equal(lines[0], 'login,email,name,status,invited at,expires at,enrolled tokens');
    assert.equal(lines.length, 3);
    assert.match(lines[1], /^'@cmd-9,x@example\.test,'=SUM\(A1\) Lee,invited,\d{4}-\d\d-\d\dT[\d:.]+Z,\d{4}-\d\d-\d\dT[\d:.]+Z,0$/);
    assert.match(lines[2], /^invited-3,invited-3@example\.test,Ann Lee,invited,/);
    const enrolled = await agent.get(`/admin/resources/${resourceId}/users.csv?status=enrolled`);
    assert.match(enrolled.text, /\r\nenrolled-0,enrolled-0@example\.test,Ann Lee,enrolled,,,1\r\n/);
    const all = await agent.get(`/admin/resources/${resourceId}/users.csv`);
    assert.equal(all.text.trimEnd().split('\r\n').length, 10);
  });

  it("lets an auditor read the tab and export; another tenant's resource is a 404", async () => {
    const auditor = await signIn(ctx.app, await addAdmin(ctx.services, tenant, 'auditor'));
    assert.equal(listed((await auditor.get(`/admin/resources/${resourceId}/users`)).text).length, 9);
    assert.match((await auditor.get(`/admin/resources/${resourceId}/users/progress`).set('HX-Request', 'true')).text, /3 of 9 enrolled/);
    assert.equal((await auditor.get(`/admin/resources/${resourceId}/users.csv`)).status, 200);
    const stranger = await signIn(ctx.app, await createTenant(ctx.services));
    assert.equal((await stranger.get(`/admin/resources/${resourceId}/users`)).status, 404);
    assert.equal((await stranger.get(`/admin/resources/${resourceId}/users/progress`).set('HX-Request', 'true')).status, 404);
    const csv = await stranger.get(`/admin/resources/${resourceId}/users.csv`);
    assert.equal(csv.status, 404);
    assert.doesNotMatch(csv.text, /login,email/);
  });

  it('shows 0 % and no chart for a resource without members', async () => {
    const resource = await createResource(ctx.services, tenant);
    const res = await agent.get(`/admin/resources/${resource.id}/users/progress`).set('HX-Request', 'true');
    assert.match(res.text, /0 of 0 enrolled \(0 %\)/);
    assert.doesNotMatch(res.text, /<svg [^>]*role="img"/);
  });
});
