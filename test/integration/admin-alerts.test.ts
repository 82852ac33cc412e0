/**
 * Admin alert emails (issue 13 §2): per admin, opt-in per kind, sent through the audit dispatcher
 * and the email queue to a real SMTP sink. The lockout alert is limited to one email per user and
 * resource per hour (state in PostgreSQL).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant, unique } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { waitUntil } from '../helpers/wait';
import { createOwnDatabase, type OwnDatabase } from '../helpers/fault-servers';
import { recordAudit } from '../../src/audit/audit.repository';
import { systemActor } from '../../src/audit/actor';
import { ForbiddenError, ValidationError } from '../../src/lib/errors';

describe('admin alert emails', () => {
  let ctx: TestContext;
  let sink: SmtpSink;
  let stop: () => Promise<void>;

  let database: OwnDatabase;

  before(async () => {
    // A database of its own: the dispatcher reads every event it finds (see webhook-delivery.test.ts).
    database = await createOwnDatabase('hooks_alerts');
    sink = await startSmtpSink();
    ctx = await createTestContext({ DATABASE_URL: database.url, SMTP_URL: sink.url });
    stop = ctx.services.auditDispatch.start(25);
  });
  after(async () => {
    await stop();
    await ctx.close();
    await sink.close();
    await database.drop();
  });

  const fannedOut = (tenantId: string) =>
    waitUntil(async () => (await ctx.services.db('audit_events').where({ tenant_id: tenantId }).whereNull('fanned_out_at')).length === 0, 10_000, 'fan-out');
  /** RFC 2047 encoded words (nodemailer encodes subjects with quotes or non-ASCII) back to text. */
  const decode = (s: string) =>
    s.replace(/=\?UTF-8\?Q\?([^?]*)\?=\s*/gi, (_m, q: string) => Buffer.from(q.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8')).trim();
  const mailsTo = (email: string) => sink.received.filter((m) => m.to.includes(email)).map((m) => ({ ...m, subject: decode(m.subject) }));

  it('a user locked out (validation API) emails the subscribed admins once per user and resource per hour; others get nothing', async () => {
    const owner = await createTenant(ctx.services);
    const watcher = await addAdmin(ctx.services, owner, 'admin');
    const quiet = await addAdmin(ctx.services, owner, 'auditor');
    await fannedOut(owner.tenantId); // the bootstrap key's api_key.create must not reach `quiet`
    await ctx.services.alerts.setMine(watcher.actor, { kinds: ['user_locked'] });
    await ctx.services.alerts.setMine(quiet.actor, { kinds: ['api_key_changed'] });
    const api = apiClient(ctx.app, owner.apiKey);
    const resource = (await api.post('/resources', { name: unique('VPN'), failedAttemptsLimit: 3 })).body;
    const login = unique('alice');
    const user = (await api.post('/users', { login })).body;
    const token = (await api.post('/tokens', { userId: user.id, type: 'totp' })).body;
    await api.put(`/resources/${resource.id}/users/${user.id}`);
    await api.put(`/resources/${resource.id}/tokens/${token.id}`);
    // Exactly the limit: the attempt that sets the lock raises the alert (no later attempt needed).
    for (let i = 0; i < 3; i++) await api.post(`/resources/${resource.id}/authenticate`, { login, otp: '000000' });
    const mail = await sink.waitFor((m) => m.to.includes(watcher.email) && /locked/.test(decode(m.subject)), 10_000);
    assert.equal(decode(mail.subject), `[MFA alert] User ${login} is locked out of ${resource.name}`);
    assert.match(mail.text, /Settings → Alerts/);
    // More refused attempts, and a new lock after an unlock, within the hour: still one email.
    for (let i = 0; i < 3; i++) await api.post(`/resources/${resource.id}/authenticate`, { login, otp: '000000' });
    await api.post(`/resources/${resource.id}/users/${user.id}/unlock`);
    for (let i = 0; i < 3; i++) await api.post(`/resources/${resource.id}/authenticate`, { login, otp: '000000' });
    await fannedOut(owner.tenantId);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(mailsTo(watcher.email).filter((m) => /locked out/.test(m.subject)).length, 1);
    assert.equal(mailsTo(quiet.email).length, 0, 'not subscribed to lockouts');
    assert.equal(mailsTo(owner.email).length, 0, 'alerts are opt-in, owners included');
    // An hour later the next lockout is emailed again.
    await ctx.services.db('alert_throttle').where({ tenant_id: owner.tenantId }).update({ sent_at: new Date(Date.now() - 61 * 60_000) });
    await api.post(`/resources/${resource.id}/users/${user.id}/unlock`);
    for (let i = 0; i < 3; i++) await api.post(`/resources/${resource.id}/authenticate`, { login, otp: '000000' });
    await waitUntil(() => mailsTo(watcher.email).filter((m) => /locked out/.test(m.subject)).length === 2, 10_000, 'a second lockout email after the hour');
  });

  it('API key created and revoked, admin locked, import finished and failed: each to its subscribers', async () => {
    const owner = await createTenant(ctx.services);
    const all = await addAdmin(ctx.services, owner, 'admin');
    // The tenant's bootstrap API key is an api_key.create event too: alerts go to whoever is
    // subscribed when an event is fanned out, so let the setup's events go out first.
    await fannedOut(owner.tenantId);
    await ctx.services.alerts.setMine(all.actor, { kinds: ['api_key_changed', 'admin_locked', 'import_finished', 'webhook_disabled'] });
    const { key } = await ctx.services.apiKeys.create(owner.actor, { name: 'Backup job' });
    await ctx.services.apiKeys.revoke(owner.actor, key.id);
    // As the sign-in service and the import processors write them.
    await ctx.services.db.transaction(async (trx) => {
      await recordAudit(trx, { tenantId: owner.tenantId, type: 'admin', id: owner.adminId }, { action: 'admin.lock', targetType: 'admin', targetId: owner.adminId, result: 'failure', details: { reason: 'password' } });
      await recordAudit(trx, systemActor(owner.tenantId, 'user import'), { action: 'user.import.done', targetType: 'user_import', targetId: '11111111-1111-4111-8111-111111111111', details: { created: 2, updated: 0, unchanged: 1 } });
      await recordAudit(trx, systemActor(owner.tenantId, 'token import'), { action: 'token.import.failed', targetType: 'token_import', targetId: '22222222-2222-4222-8222-222222222222', result: 'failure', details: { error: 'bad file' } });
    });
    await fannedOut(owner.tenantId);
    const subjects = async () => {
      await waitUntil(() => mailsTo(all.email).length >= 5, 10_000, 'five alert emails');
      return mailsTo(all.email).map((m) => m.subject).sort();
    };
    assert.deepEqual(await subjects(), [
      '[MFA alert] API key "Backup job" was created',
      `[MFA alert] Admin account ${owner.email} is locked`,
      '[MFA alert] An API key was revoked',
      '[MFA alert] Token import failed',
      '[MFA alert] User import finished',
    ].sort());
    assert.match(mailsTo(all.email).find((m) => /User import finished/.test(m.subject))!.text, /created: 2/);
    assert.match(mailsTo(all.email).find((m) => /Token import failed/.test(m.subject))!.text, /bad file/);
    assert.equal(mailsTo(owner.email).length, 0);
  });

  it('each admin manages their own kinds (audited); unknown kinds refused; owners see who receives what, others may not', async () => {
    const owner = await createTenant(ctx.services);
    const admin = await addAdmin(ctx.services, owner, 'admin');
    assert.deepEqual(await ctx.services.alerts.mine(admin.actor), []);
    assert.deepEqual(await ctx.services.alerts.setMine(admin.actor, { kinds: ['user_locked', 'import_finished', 'user_locked'] }), ['import_finished', 'user_locked']);
    await assert.rejects(ctx.services.alerts.setMine(admin.actor, { kinds: ['everything'] }), ValidationError);
    await assert.rejects(ctx.services.alerts.setMine({ tenantId: owner.tenantId, type: 'api_key', id: 'k' }, { kinds: [] }), ForbiddenError);
    const overview = await ctx.services.alerts.overview(owner.actor);
    assert.deepEqual(overview.map((o) => [o.email, o.kinds]).sort(), [[admin.email, ['import_finished', 'user_locked']], [owner.email, []]].sort());
    await assert.rejects(ctx.services.alerts.overview(admin.actor), ForbiddenError);
    const audit = await ctx.services.db('audit_events').where({ tenant_id: owner.tenantId, action: 'admin.alerts.update' });
    assert.equal(audit.length, 1);
    // Another tenant's overview never lists this tenant's admins.
    const other = await createTenant(ctx.services);
    assert.deepEqual((await ctx.services.alerts.overview(other.actor)).map((o) => o.email), [other.email]);
  });
});
