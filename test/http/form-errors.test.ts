/**
 * Issue 15 §10: forms validate every field at once and open with one error summary whose items
 * link to their fields (GOV.UK pattern).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant } from '../helpers/factories';
import { csrfFrom, postForm, signIn } from '../helpers/admin-agent';

/** The summary's links as [href, text], and checks each points at an element of the page. */
function summaryLinks(html: string): Array<[string, string]> {
  const box = html.match(/<div class="error-summary"[^>]*role="alert">([\s\S]*?)<\/div>/);
  assert.ok(box, 'the page has an error summary');
  const links = [...box[1].matchAll(/<a href="#([^"]+)">([^<]*)<\/a>/g)].map((m) => [m[1], m[2]] as [string, string]);
  for (const [id] of links) assert.match(html, new RegExp(`id="${id}"`), `#${id} is on the page`);
  return links;
}

describe('form errors: all at once, in a linked summary', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('sign-up names the empty organisation, the bad email and the empty password in one answer', async () => {
    const agent = request.agent(ctx.app);
    const form = await agent.get('/signup');
    const res = await agent.post('/signup').type('form').send({ _csrf: csrfFrom(form.text), organisation: '', email: 'not-an-email', password: '' });
    assert.equal(res.status, 422);
    const links = summaryLinks(res.text);
    assert.deepEqual(links.map(([id]) => id), ['f-organisation', 'f-email', 'f-password']);
    assert.equal(links[2][1], 'Choose a password.');
    assert.match(res.text, /There is a problem/);
    // Each field still shows its own message, tied to its input.
    for (const name of ['organisation', 'email', 'password']) assert.match(res.text, new RegExp(`id="f-${name}-error"`));
    assert.equal(await ctx.services.db('tenants').where({ name: '' }).first(), undefined);
  });

  it('sign-up: a short password with the other fields wrong is named too', async () => {
    const agent = request.agent(ctx.app);
    const form = await agent.get('/signup');
    const res = await agent.post('/signup').type('form').send({ _csrf: csrfFrom(form.text), organisation: '', email: 'ok@example.test', password: 'short' });
    assert.equal(res.status, 422);
    assert.deepEqual(summaryLinks(res.text), [['f-organisation', 'Enter your organisation name.'], ['f-password', 'Use at least 8 characters.']]);
  });

  it('console resource form: every field problem is a link to an element of the page', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const res = await postForm(agent, '/admin/resources/new', '/admin/resources', { name: '', failedAttemptsLimit: '99', lockMinutes: '-1', invitationReminderDays: 'x' });
    assert.equal(res.status, 422);
    const ids = summaryLinks(res.text).map(([id]) => id);
    for (const id of ['f-name', 'f-failedAttemptsLimit', 'f-lockMinutes', 'f-invitationReminderDays']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
  });

  it('a message without fields (wrong sign-in) is a summary with its title and no list', async () => {
    const agent = request.agent(ctx.app);
    const form = await agent.get('/admin/sign-in');
    const res = await agent.post('/admin/sign-in').type('form').send({ _csrf: csrfFrom(form.text), email: 'nobody@example.test', password: 'wrong password here' });
    assert.ok(res.status >= 400 && res.status < 500, String(res.status));
    assert.match(res.text, /data-error-summary role="alert"><h2 id="error-summary-title">[^<]+<\/h2>/);
    assert.deepEqual(summaryLinks(res.text), []);
  });
});
