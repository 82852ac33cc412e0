/**
 * Console: enrolment invitations on a resource's Users tab (issue 12 §3): the state column, invite
 * selected (checkboxes), invite everyone not enrolled, resend and cancel, CSRF required, auditors
 * read only, another tenant's resource 404, and the settings form's invitation fields.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant, unique } from '../helpers/factories';
import { csrfOf, postForm, signIn, type Agent } from '../helpers/admin-agent';
import { createApiToken, createPortalMember, createPortalWorld, type PortalWorld } from '../helpers/portal';
import { waitUntil } from '../helpers/wait';

describe('console: enrolment invitations', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(async () => ctx.close());

  const email = () => `${unique('con')}@example.test`.toLowerCase();
  const tab = (w: PortalWorld) => `/admin/resources/${w.portal.resource.id}/users`;
  const stateOf = (html: string, login: string) => {
    const row = html.split('<tr>').find((r) => r.includes(`>${login}</a>`));
    return row?.match(/data-state="([a-z_]+)"/)?.[1];
  };
  async function flashAfter(agent: Agent, res: { status: number; headers: Record<string, unknown> }, w: PortalWorld) {
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, tab(w));
    return (await agent.get(tab(w))).text;
  }
  const emailsTo = async (recipient: string) => ctx.services.db('messages').where({ recipient });

  it('invites the selected users and everyone not enrolled; shows each state; resend and cancel', async () => {
    const w = await createPortalWorld(ctx, { allowedActions: ['enroll_token'], enrollmentTokenTypes: ['totp'] });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => createPortalMember(ctx, w, { email: email() })));
    const noEmail = await createPortalMember(ctx, w);
    const enrolled = await createPortalMember(ctx, w, { email: email() });
    await createApiToken(w, { type: 'totp', userId: enrolled.id }, w.portal.resource.id);
    const agent = await signIn(ctx.app, w.tenant);

    const before = await agent.get(tab(w));
    assert.equal(before.status, 200);
    assert.match(before.text, /Invite selected/);
    assert.match(before.text, /Invite everyone not enrolled/);
    assert.equal(stateOf(before.text, a.login), 'not_invited');
    assert.equal(stateOf(before.text, enrolled.login), 'enrolled');

    // Checkboxes of two rows: the same field repeated, as a browser sends it.
    const token = await csrfOf(agent, tab(w));
    const selected = await agent.post(`/admin/resources/${w.portal.resource.id}/invitations`).type('form').send(`_csrf=${encodeURIComponent(token)}&userIds=${a.id}&userIds=${noEmail.id}`);
    let page = await flashAfter(agent, selected, w);
    assert.match(page, /Invited 1 user\. Skipped 1: 1 without an email address\./);
    assert.equal(stateOf(page, a.login), 'invited');
    assert.equal(stateOf(page, b.login), 'not_invited');
    await waitUntil(async () => (await emailsTo(a.email!)).length === 1, 10_000, 'the invitation email');

    const everyone = await postForm(agent, tab(w), `/admin/resources/${w.portal.resource.id}/invitations`, { filter: 'not_enrolled' });
    page = await flashAfter(agent, everyone, w);
    assert.match(page, /Invited 2 users\. Skipped 2: 1 without an email address, 1 invited in the last 24 hours\./);
    assert.equal(stateOf(page, c.login), 'invited');

    const nothing = await postForm(agent, tab(w), `/admin/resources/${w.portal.resource.id}/invitations`, {});
    page = await flashAfter(agent, nothing, w);
    assert.match(page, /Choose at least one user\./);

    const cancelled = await postForm(agent, tab(w), `/admin/resources/${w.portal.resource.id}/invitations/${b.id}/cancel`, {});
    page = await flashAfter(agent, cancelled, w);
    assert.match(page, /The invitation is cancelled\./);
    assert.equal(stateOf(page, b.login), 'cancelled');

    const resent = await postForm(agent, tab(w), `/admin/resources/${w.portal.resource.id}/invitations/${b.id}/resend`, {});
    page = await flashAfter(agent, resent, w);
    assert.equal(stateOf(page, b.login), 'invited');
    await waitUntil(async () => (await emailsTo(b.email!)).length === 2, 10_000, 'the resent email');

    const actions = (await ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId }).whereLike('action', 'invitation.%').select('action', 'actor_type')).map((e) => `${e.action}:${e.actor_type}`).sort();
    assert.deepEqual(actions, ['invitation.cancel:admin', 'invitation.create:admin', 'invitation.create:admin', 'invitation.create:admin', 'invitation.resend:admin']);
  });

  it('a resource without a portal address says why; no CSRF token is a 403; an auditor sees no controls; another tenant gets 404', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const resource = await ctx.services.resources.create(tenant.actor, { name: unique('NoPortal') });
    const u = await ctx.services.users.create(tenant.actor, { login: unique('u'), email: email() });
    await ctx.services.users.assign(tenant.actor, resource.id, u.id);
    const path = `/admin/resources/${resource.id}/users`;
    const refused = await postForm(agent, path, `/admin/resources/${resource.id}/invitations`, { userIds: u.id });
    assert.equal(refused.status, 303);
    assert.match((await agent.get(path)).text, /no Self-Service Portal address/);

    const noCsrf = await agent.post(`/admin/resources/${resource.id}/invitations`).type('form').send({ userIds: u.id });
    assert.equal(noCsrf.status, 403);
    assert.equal((await ctx.services.db('enrollment_invitations').where({ user_id: u.id })).length, 0);

    const auditor = await signIn(ctx.app, await addAdmin(ctx.services, tenant, 'auditor'));
    const seen = await auditor.get(path);
    assert.equal(seen.status, 200);
    assert.doesNotMatch(seen.text, /Invite selected/);
    const forbidden = await postForm(auditor, path, `/admin/resources/${resource.id}/invitations`, { filter: 'not_enrolled' });
    assert.equal(forbidden.status, 403);

    const stranger = await signIn(ctx.app, await createTenant(ctx.services));
    const foreign = await postForm(stranger, '/admin/resources', `/admin/resources/${resource.id}/invitations`, { filter: 'not_enrolled' });
    assert.equal(foreign.status, 404);
  });

  it('the settings tab edits the invitation validity and reminder days', async () => {
    const w = await createPortalWorld(ctx);
    const agent = await signIn(ctx.app, w.tenant);
    const path = `/admin/resources/${w.portal.resource.id}`;
    const form = await agent.get(path);
    assert.match(form.text, /name="invitationReminderDays"[^>]*value="2, 10"|value="2, 10"[^>]*name="invitationReminderDays"/);
    const saved = await postForm(agent, path, path, { name: w.portal.resource.name, invitationDays: '14', invitationReminderDays: '7 3' });
    assert.equal(saved.status, 303);
    const row = await ctx.services.db('resources').where({ id: w.portal.resource.id }).first();
    assert.deepEqual([row.invitation_days, row.invitation_reminder_days], [14, [3, 7]]);
    const off = await postForm(agent, path, path, { name: w.portal.resource.name, invitationReminderDays: '' });
    assert.equal(off.status, 303);
    assert.deepEqual((await ctx.services.db('resources').where({ id: w.portal.resource.id }).first()).invitation_reminder_days, []);
    const bad = await postForm(agent, path, path, { name: w.portal.resource.name, invitationDays: '400', invitationReminderDays: 'soon' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /Use 1 to 365 days\./);
    assert.match(bad.text, /Enter whole numbers of days\./);
  });
});
