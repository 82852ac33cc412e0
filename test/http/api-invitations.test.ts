/**
 * Enrolment invitations through the API (issue 12 §3): invite by ids or "not_enrolled", skips with
 * their reason, the 24-hour guard (twice, and two at once, send one email), the email's portal
 * link with the login, expiry, reminders (timestamps moved back, sweep called directly), resend,
 * cancel, audit events, tenant isolation, the resource settings. Jobs run in-process; emails land
 * in the Outbox table.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, unique } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { createApiToken, createPortalMember, createPortalWorld, type PortalWorld } from '../helpers/portal';
import { waitUntil } from '../helpers/wait';
import { openInvitations } from '../../src/invitations/invitation.repository';

describe('API: enrolment invitations', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(async () => ctx.close());

  const email = () => `${unique('inv')}@example.test`.toLowerCase();
  const emailsTo = async (w: PortalWorld, recipient: string) =>
    ctx.services.db('messages').where({ tenant_id: w.tenant.tenantId, recipient }).orderBy('created_at');
  /** Waits until `recipient` has `count` messages, then a little more to catch any extra one. */
  async function expectEmails(w: PortalWorld, recipient: string, count: number) {
    await waitUntil(async () => (await emailsTo(w, recipient)).length >= count, 10_000, `${count} email(s) to ${recipient}`);
    await new Promise((r) => setTimeout(r, 300));
    const all = await emailsTo(w, recipient);
    assert.equal(all.length, count, `emails to ${recipient}: ${all.map((m) => m.subject).join(' | ')}`);
    return all;
  }
  const world = () => createPortalWorld(ctx, { allowedActions: ['enroll_token'], enrollmentTokenTypes: ['totp'] });
  const audit = (w: PortalWorld, action: string) => ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action }).orderBy('id');
  const setRow = (w: PortalWorld, userId: string, patch: Record<string, unknown>) =>
    ctx.services.db('enrollment_invitations').where({ tenant_id: w.tenant.tenantId, user_id: userId, resource_id: w.portal.resource.id }).update(patch);

  it('invites by ids, skips each other case with its reason, and emails the portal link with the login', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const ok = await createPortalMember(ctx, w, { email: email() });
    const noEmail = await createPortalMember(ctx, w);
    const blocked = await createPortalMember(ctx, w, { email: email() });
    await ctx.services.users.block(w.tenant.actor, blocked.id);
    const enrolled = await createPortalMember(ctx, w, { email: email() });
    await createApiToken(w, { type: 'totp', userId: enrolled.id }, rid);
    const unassigned = await createPortalMember(ctx, w, { email: email() }, null);
    const other = await createPortalWorld(ctx);
    const foreign = await createPortalMember(ctx, other, { email: email() });

    const res = await w.api.post(`/resources/${rid}/invitations`, { userIds: [ok.id, noEmail.id, blocked.id, enrolled.id, unassigned.id, foreign.id] });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.invited, 1);
    const reasons = Object.fromEntries(res.body.skipped.map((s: { userId: string; reason: string }) => [s.userId, s.reason]));
    assert.deepEqual(reasons, { [noEmail.id]: 'no_email', [blocked.id]: 'blocked', [enrolled.id]: 'enrolled', [unassigned.id]: 'not_assigned', [foreign.id]: 'not_assigned' });

    const [mail] = await expectEmails(w, ok.email!, 1);
    assert.match(mail.subject, new RegExp(`Set up two-step sign-in for ${w.portal.resource.name}`));
    assert.ok(mail.body_text.includes(`http://localhost:3000/portal/${w.portal.address}/?login=${encodeURIComponent(ok.login)}`), mail.body_text);
    for (const u of [blocked, enrolled, unassigned]) assert.equal((await emailsTo(w, u.email!)).length, 0);
    assert.equal((await emailsTo(other, foreign.email!)).length, 0);

    const events = await audit(w, 'invitation.create');
    assert.deepEqual(events.map((e) => [e.target_id, e.resource_id]), [[ok.id, rid]]);
  });

  it('inviting again within 24 h sends nothing, and so does a double click (two requests at once)', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const a = await createPortalMember(ctx, w, { email: email() });
    const b = await createPortalMember(ctx, w, { email: email() });
    const [first, second] = await Promise.all([
      w.api.post(`/resources/${rid}/invitations`, { userIds: [a.id] }),
      w.api.post(`/resources/${rid}/invitations`, { userIds: [a.id] }),
    ]);
    assert.deepEqual([first.status, second.status], [202, 202]);
    assert.equal(first.body.invited + second.body.invited, 1, `${first.text} ${second.text}`);
    await expectEmails(w, a.email!, 1);

    const again = await w.api.post(`/resources/${rid}/invitations`, { userIds: [a.id, b.id] });
    assert.equal(again.status, 202);
    assert.equal(again.body.invited, 1);
    assert.deepEqual(again.body.skipped, [{ userId: a.id, reason: 'invited_recently' }]);
    await expectEmails(w, a.email!, 1);
    await expectEmails(w, b.email!, 1);
    assert.equal((await audit(w, 'invitation.create')).length, 2);

    // 24 h later it may go again.
    await setRow(w, a.id, { last_sent_at: ctx.services.db.raw("now() - interval '25 hours'") });
    const later = await w.api.post(`/resources/${rid}/invitations`, { userIds: [a.id] });
    assert.equal(later.body.invited, 1);
    await expectEmails(w, a.email!, 2);
  });

  it('a request that overlaps one still in its transaction sends nothing (the guard holds under concurrency)', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const u = await createPortalMember(ctx, w, { email: email() });
    // The first request has written its row but not committed yet.
    const first = await ctx.services.db.transaction();
    await openInvitations(first, w.tenant.tenantId, rid, [u.id], { days: 30, firstReminderDays: 2 });
    const second = ctx.services.invitations.invite(w.tenant.actor, rid, { userIds: [u.id] });
    await new Promise((r) => setTimeout(r, 300)); // the second now waits on the first's row
    await first.commit();
    assert.deepEqual(await second, { invited: 0, skipped: [{ userId: u.id, reason: 'invited_recently' }] });
    assert.equal((await audit(w, 'invitation.create')).length, 0, 'only the second wrote an event, and it wrote none');
  });

  it('{"filter": "not_enrolled"} invites every assigned user not enrolled, and lists the skipped ones', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const a = await createPortalMember(ctx, w, { email: email() });
    const b = await createPortalMember(ctx, w, { email: email() });
    const noEmail = await createPortalMember(ctx, w);
    const enrolled = await createPortalMember(ctx, w, { email: email() });
    await createApiToken(w, { type: 'totp', userId: enrolled.id }, rid);
    await createPortalMember(ctx, w, { email: email() }, null);
    const res = await w.api.post(`/resources/${rid}/invitations`, { filter: 'not_enrolled' });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.invited, 2);
    assert.deepEqual(res.body.skipped, [{ userId: noEmail.id, reason: 'no_email' }]);
    await expectEmails(w, a.email!, 1);
    await expectEmails(w, b.email!, 1);
    await expectEmails(w, enrolled.email!, 0);
    const repeat = await w.api.post(`/resources/${rid}/invitations`, { filter: 'not_enrolled' });
    assert.equal(repeat.body.invited, 0);
  });

  it('refuses bad requests with a clear 4xx: no portal address, bad body, another tenant\'s resource', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const noPortal = (await w.api.post('/resources', { name: unique('NoPortal') })).body;
    const u = await createPortalMember(ctx, w, { email: email() }, noPortal.id);
    const refused = await w.api.post(`/resources/${noPortal.id}/invitations`, { userIds: [u.id] });
    assertApiError(refused, 422, 'validation_failed');
    assert.match(refused.body.error.message, /no Self-Service Portal address/);

    assertApiError(await w.api.post(`/resources/${rid}/invitations`, { userIds: ['nope'] }), 422, 'validation_failed');
    assertApiError(await w.api.post(`/resources/${rid}/invitations`, { userIds: [] }), 422, 'validation_failed');
    assertApiError(await w.api.post(`/resources/${rid}/invitations`, { filter: 'everyone' }), 422, 'validation_failed');
    assertApiError(await w.api.post(`/resources/${rid}/invitations`, { userIds: [u.id], filter: 'not_enrolled' }), 422, 'validation_failed');
    assertApiError(await w.api.post(`/resources/${rid}/invitations`, [u.id]), 400, 'bad_request');
    const tooMany = await w.api.post(`/resources/${rid}/invitations`, { userIds: Array.from({ length: 2001 }, () => u.id) });
    assertApiError(tooMany, 422, 'validation_failed');
    assert.match(tooMany.body.error.fields.userIds, /at most 2000/);

    const other = await createTenant(ctx.services);
    const otherApi = apiClient(ctx.app, other.apiKey);
    assertApiError(await otherApi.post(`/resources/${rid}/invitations`, { userIds: [u.id] }), 404, 'not_found');
    assertApiError(await otherApi.get(`/resources/${rid}/invitations`), 404, 'not_found');
    assertApiError(await otherApi.delete(`/resources/${rid}/invitations/${u.id}`), 404, 'not_found');
    assertApiError(await otherApi.post(`/resources/${rid}/invitations/${u.id}/resend`), 404, 'not_found');
    assertApiError(await w.api.post(`/resources/not-a-uuid/invitations`, { filter: 'not_enrolled' }), 404, 'not_found');
  });

  it('lists invitations with their status: invited, expired, cancelled, enrolled', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const [inv, exp, can, enr] = await Promise.all([1, 2, 3, 4].map(() => createPortalMember(ctx, w, { email: email() })));
    assert.equal((await w.api.post(`/resources/${rid}/invitations`, { userIds: [inv.id, exp.id, can.id, enr.id] })).body.invited, 4);
    await setRow(w, exp.id, { expires_at: ctx.services.db.raw("now() - interval '1 second'") });
    assert.equal((await w.api.delete(`/resources/${rid}/invitations/${can.id}`)).status, 204);
    await createApiToken(w, { type: 'totp', userId: enr.id }, rid);
    const list = await w.api.get(`/resources/${rid}/invitations?perPage=10`);
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.total, 4);
    const status = Object.fromEntries(list.body.items.map((i: { userId: string; status: string }) => [i.userId, i.status]));
    assert.deepEqual(status, { [inv.id]: 'invited', [exp.id]: 'expired', [can.id]: 'cancelled', [enr.id]: 'enrolled' });
    const item = list.body.items.find((i: { userId: string }) => i.userId === inv.id);
    const days = (Date.parse(item.expiresAt) - Date.parse(item.lastSentAt)) / 86_400_000;
    assert.equal(Math.round(days), 30);
    assert.equal(item.login, inv.login);
  });

  it('expiry follows the resource\'s invitationDays, editable through the resources API', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const shown = await w.api.get(`/resources/${rid}`);
    assert.equal(shown.body.invitationDays, 30);
    assert.deepEqual(shown.body.invitationReminderDays, [2, 10]);
    const patched = await w.api.patch(`/resources/${rid}`, { invitationDays: 7, invitationReminderDays: [5, 3, 3] });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual([patched.body.invitationDays, patched.body.invitationReminderDays], [7, [3, 5]]);
    assertApiError(await w.api.patch(`/resources/${rid}`, { invitationDays: 0 }), 422, 'validation_failed');
    assertApiError(await w.api.patch(`/resources/${rid}`, { invitationReminderDays: 'daily' }), 422, 'validation_failed');
    const created = await w.api.post('/resources', { name: unique('R'), invitationDays: 14, invitationReminderDays: [] });
    assert.deepEqual([created.status, created.body.invitationDays, created.body.invitationReminderDays], [201, 14, []]);

    const u = await createPortalMember(ctx, w, { email: email() });
    await w.api.post(`/resources/${rid}/invitations`, { userIds: [u.id] });
    const row = await ctx.services.db('enrollment_invitations').where({ user_id: u.id }).first();
    assert.equal(Math.round((row.expires_at - row.last_sent_at) / 86_400_000), 7);
    assert.equal(Math.round((row.next_reminder_at - row.last_sent_at) / 86_400_000), 3);
  });

  it('reminders go out after the resource\'s days, once each, only to those still invited', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const users = await Promise.all([1, 2, 3, 4].map(() => createPortalMember(ctx, w, { email: email() })));
    const [waiting, enrolled, cancelled, expired] = users;
    await w.api.post(`/resources/${rid}/invitations`, { userIds: users.map((u) => u.id) });
    for (const u of users) await expectEmails(w, u.email!, 1);
    await createApiToken(w, { type: 'totp', userId: enrolled.id }, rid);
    await w.api.delete(`/resources/${rid}/invitations/${cancelled.id}`);
    // Three days later: the day-2 reminder is due.
    for (const u of users) {
      await setRow(w, u.id, {
        last_sent_at: ctx.services.db.raw("last_sent_at - interval '3 days'"),
        next_reminder_at: ctx.services.db.raw("now() - interval '1 day'"),
        ...(u === expired ? { expires_at: ctx.services.db.raw("now() - interval '1 minute'") } : {}),
      });
    }
    await ctx.services.invitations.sweep();
    const [, reminder] = await expectEmails(w, waiting.email!, 2);
    assert.match(reminder.subject, /^Reminder: set up two-step sign-in/);
    assert.ok(reminder.body_text.includes(`?login=${encodeURIComponent(waiting.login)}`));
    for (const u of [enrolled, cancelled, expired]) await expectEmails(w, u.email!, 1);

    // Again at once: nothing new (at most once each); the next one is day 10.
    await ctx.services.invitations.sweep();
    await expectEmails(w, waiting.email!, 2);
    const row = await ctx.services.db('enrollment_invitations').where({ user_id: waiting.id }).first();
    assert.equal(row.reminders_sent, 1);
    assert.equal(Math.round((row.next_reminder_at - row.last_sent_at) / 86_400_000), 10);
    const events = await audit(w, 'invitation.reminder');
    assert.deepEqual(events.map((e) => [e.target_id, e.actor_type]), [[waiting.id, 'system']]);

    // Reminders turned off: the day-10 one never goes.
    await w.api.patch(`/resources/${rid}`, { invitationReminderDays: [] });
    await setRow(w, waiting.id, { next_reminder_at: ctx.services.db.raw("now() - interval '1 minute'") });
    await ctx.services.invitations.sweep();
    await expectEmails(w, waiting.email!, 2);
  });

  it('resend sends now with a fresh expiry; cancel stops it; both are audited', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const u = await createPortalMember(ctx, w, { email: email() });
    const never = await createPortalMember(ctx, w, { email: email() });
    assertApiError(await w.api.post(`/resources/${rid}/invitations/${never.id}/resend`), 404, 'not_found');
    assertApiError(await w.api.delete(`/resources/${rid}/invitations/${never.id}`), 404, 'not_found');
    assertApiError(await w.api.delete(`/resources/${rid}/invitations/not-a-uuid`), 404, 'not_found');

    await w.api.post(`/resources/${rid}/invitations`, { userIds: [u.id] });
    await expectEmails(w, u.email!, 1);
    await setRow(w, u.id, { expires_at: ctx.services.db.raw("now() - interval '1 day'"), last_sent_at: ctx.services.db.raw("now() - interval '31 days'") });
    const resent = await w.api.post(`/resources/${rid}/invitations/${u.id}/resend`);
    assert.equal(resent.status, 202, resent.text);
    await expectEmails(w, u.email!, 2);
    const row = await ctx.services.db('enrollment_invitations').where({ user_id: u.id }).first();
    assert.ok(row.expires_at > new Date(Date.now() + 29 * 86_400_000));

    assert.equal((await w.api.delete(`/resources/${rid}/invitations/${u.id}`)).status, 204);
    assert.equal((await w.api.delete(`/resources/${rid}/invitations/${u.id}`)).status, 204, 'cancel is idempotent');
    const cancelled = await ctx.services.db('enrollment_invitations').where({ user_id: u.id }).first();
    assert.ok(cancelled.cancelled_at);
    assert.equal(cancelled.next_reminder_at, null);
    assert.equal((await audit(w, 'invitation.resend')).length, 1);
    assert.equal((await audit(w, 'invitation.cancel')).length, 1);

    // A cancelled invitation may be sent again at once (no 24 h guard after a cancel).
    assert.equal((await w.api.post(`/resources/${rid}/invitations`, { userIds: [u.id] })).body.invited, 1);
    await expectEmails(w, u.email!, 3);

    await createApiToken(w, { type: 'totp', userId: u.id }, rid);
    const conflict = await w.api.post(`/resources/${rid}/invitations/${u.id}/resend`);
    assertApiError(conflict, 409, 'conflict');
    assert.match(conflict.body.error.message, /already enrolled/);
  });

  it('the sweep sends an email whose job was lost (queue down at invite time), once', async () => {
    const w = await world();
    const u = await createPortalMember(ctx, w, { email: email() });
    // As if the enqueue after commit had failed: the row owes its email, no job exists.
    const [row] = await ctx.services.db('enrollment_invitations')
      .insert({ tenant_id: w.tenant.tenantId, resource_id: w.portal.resource.id, user_id: u.id, expires_at: ctx.services.db.raw("now() + interval '30 days'"), last_sent_at: ctx.services.db.raw("now() - interval '2 minutes'"), pending_email: 'invitation' })
      .returning('id');
    await ctx.services.invitations.sweep();
    await expectEmails(w, u.email!, 1);
    await ctx.services.invitations.sweep();
    await expectEmails(w, u.email!, 1);
    assert.equal((await ctx.services.db('enrollment_invitations').where({ id: row.id }).first()).pending_email, null);
  });

  it('an email owed by a row is sent once even when its job runs twice', async () => {
    const w = await world();
    const rid = w.portal.resource.id;
    const u = await createPortalMember(ctx, w, { email: email() });
    await w.api.post(`/resources/${rid}/invitations`, { userIds: [u.id] });
    await expectEmails(w, u.email!, 1);
    const row = await ctx.services.db('enrollment_invitations').where({ user_id: u.id }).first();
    await ctx.services.processors.sendInvitations({ invitationIds: [row.id] }, { number: 1, final: false });
    await ctx.services.processors.sendInvitations({ invitationIds: [row.id, 'junk'] }, { number: 2, final: true });
    await expectEmails(w, u.email!, 1);
  });
});
