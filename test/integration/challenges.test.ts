/**
 * Email/SMS challenge tokens end to end (SEC-07, SEC-08, SEC-10, SEC-13, SEC-22): a real SMTP
 * sink and a local HTTP server as the SMS gateway, the in-process queue, real PostgreSQL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser, unique } from '../helpers/factories';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { startSmsSink, type SmsSink } from '../helpers/sms-sink';
import { waitUntil } from '../helpers/wait';
import { signSmsPayload, createSmsWebhook } from '../../src/mail/sms-webhook';
import type { Message } from '../../src/outbox/message.repository';
import { loadConfig } from '../../src/config';

const SMS_SECRET = 'test-sms-webhook-secret-of-32-characters!';
const codeIn = (text: string) => text.match(/\b(\d{6})\b/)?.[1] ?? assert.fail(`no code in: ${text}`);
const otherThan = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('email and SMS challenge tokens', () => {
  let ctx: TestContext;
  let smtp: SmtpSink;
  let sms: SmsSink;
  const jobPayloads: string[] = [];
  before(async () => {
    [smtp, sms] = await Promise.all([startSmtpSink(), startSmsSink()]);
    ctx = await createTestContext({ SMTP_URL: smtp.url, SMS_WEBHOOK_URL: sms.url, SMS_WEBHOOK_SECRET: SMS_SECRET });
    const queue = ctx.services.queue;
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = async (job, payload, options) => {
      jobPayloads.push(JSON.stringify(payload));
      return enqueue(job, payload, options);
    };
  });
  after(async () => {
    await ctx.close();
    await Promise.all([smtp.close(), sms.close()]);
  });

  async function setup(type: 'email' | 'sms' | 'totp' = 'email', resourceInput: Record<string, unknown> = { failedAttemptsLimit: 10 }) {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, resourceInput);
    const email = `${unique('user')}@example.test`;
    const user = await createUser(s, tenant, { email, phone: `+1${randomInt(2_000_000_000, 9_999_999_999)}` });
    await s.users.assign(tenant.actor, resource.id, user.id);
    const { token } = await s.tokens.create(tenant.actor, { type, userId: user.id });
    await s.tokens.assignToResource(tenant.actor, resource.id, token.id);
    const mails = () => smtp.received.filter((m) => m.to.includes(email));
    return {
      tenant, resource, user, token, email, mails,
      challenge: (resourceId = resource.id, login = user.login) => s.challenges.request(tenant.actor, resourceId, { login }),
      auth: (otp: string, resourceId = resource.id) => s.validation.authenticate(tenant.actor, resourceId, { login: user.login, otp }),
      /** The code of the n-th mail (1-based) to the user. */
      code: async (n = 1) => codeIn((await waitUntil(() => mails()[n - 1], 10_000, `mail ${n} to ${email}`)).text),
      counts: async () => ({
        challenges: Number((await s.db('token_challenges').where({ tenant_id: tenant.tenantId }).count<{ count: string }[]>('* as count'))[0].count),
        messages: Number((await s.db('messages').where({ tenant_id: tenant.tenantId }).count<{ count: string }[]>('* as count'))[0].count),
      }),
    };
  }

  it('SEC-10 emails a 6-digit code that works once', async () => {
    const t = await setup();
    assert.deepEqual(await t.challenge(), { status: 'sent' });
    const mail = await smtp.waitFor((m) => m.to.includes(t.email));
    const code = codeIn(mail.text);
    assert.ok(!mail.subject.includes(code), 'the code is not in the subject (lock screens show subjects)');
    assert.deepEqual(await t.auth(code), { result: true, token: { serial: t.token.serial, type: 'email' } });
    assert.deepEqual(await t.auth(code), { result: false }, 'single use');
    const [audit] = await ctx.services.db('audit_events').where({ tenant_id: t.tenant.tenantId, action: 'challenge.request' });
    assert.equal(audit.result, 'success');
    assert.equal(audit.details.reason, 'sent');
  });

  it('SEC-10 refuses an expired code', async () => {
    const t = await setup();
    await t.challenge();
    const code = await t.code();
    await ctx.services.db('token_challenges').where({ token_id: t.token.id }).update({ expires_at: ctx.services.db.raw("now() - interval '1 second'") });
    assert.deepEqual(await t.auth(code), { result: false });
  });

  it('SEC-10 binds a code to the resource it was asked for', async () => {
    const t = await setup();
    const other = await createResource(ctx.services, t.tenant, { failedAttemptsLimit: 10 });
    await ctx.services.users.assign(t.tenant.actor, other.id, t.user.id);
    await ctx.services.tokens.assignToResource(t.tenant.actor, other.id, t.token.id);
    await t.challenge(t.resource.id);
    const code = await t.code();
    assert.deepEqual(await t.auth(code, other.id), { result: false }, 'a code asked for resource A is refused at resource B');
    assert.equal((await t.auth(code, t.resource.id)).result, true);
  });

  it('SEC-07 refuses the 6th attempt even with the right code', async () => {
    const t = await setup();
    await t.challenge();
    const code = await t.code();
    for (let i = 0; i < 5; i++) assert.deepEqual(await t.auth(otherThan(code)), { result: false });
    assert.deepEqual(await t.auth(code), { result: false });
    const [row] = await ctx.services.db('token_challenges').where({ token_id: t.token.id });
    assert.equal(row.attempts, 5);
    assert.equal(row.used_at, null);
  });

  it('SEC-05 gives one success for 20 concurrent right codes', async () => {
    const t = await setup('email', { failedAttemptsLimit: 10 });
    await t.challenge();
    const code = await t.code();
    const results = await Promise.all(Array.from({ length: 20 }, () => t.auth(code)));
    assert.equal(results.filter((r) => r.result).length, 1);
  });

  it('SEC-10 a new request invalidates the older code', async () => {
    const t = await setup();
    await t.challenge();
    const first = await t.code(1);
    // Past the resend throttle, not by waiting: the first code is dated back.
    await ctx.services.db('token_challenges').where({ token_id: t.token.id }).update({ created_at: ctx.services.db.raw("now() - interval '2 minutes'") });
    await t.challenge();
    const second = await t.code(2);
    assert.deepEqual(await t.auth(first), { result: false });
    assert.equal((await t.auth(second)).result, true);
  });

  it('SEC-07 throttles resends silently and caps codes per user and hour', async () => {
    const t = await setup();
    assert.deepEqual(await Promise.all([t.challenge(), t.challenge(), t.challenge()]), Array(3).fill({ status: 'sent' }));
    assert.deepEqual(await t.counts(), { challenges: 1, messages: 1 }, 'one code per token per 30 s, also under concurrency');
    const code = await t.code();

    // Ten codes in the last hour (dated past the 30 s throttle): the cap is reached.
    await ctx.services.db('token_challenges').where({ token_id: t.token.id }).update({ created_at: ctx.services.db.raw("now() - interval '10 minutes'") });
    const filler = Array.from({ length: 9 }, () => ({ tenant_id: t.tenant.tenantId, token_id: t.token.id, resource_id: t.resource.id, code_hash: 'x', expires_at: new Date(0), created_at: new Date(Date.now() - 20 * 60_000) }));
    await ctx.services.db('token_challenges').insert(filler);
    assert.deepEqual(await t.challenge(), { status: 'sent' });
    assert.deepEqual(await t.counts(), { challenges: 10, messages: 1 });
    assert.equal((await t.auth(code)).result, true, 'the code already sent stays valid');
    const reasons = (await ctx.services.db('audit_events').where({ tenant_id: t.tenant.tenantId, action: 'challenge.request' }).orderBy('id')).map((e) => e.details.reason);
    assert.deepEqual(reasons, ['sent', 'throttled', 'throttled', 'throttled']);
  });

  it('SEC-08 a locked user gets the same answer, no code, and unchanged counters', async () => {
    const t = await setup();
    const member = () => ctx.services.db('resource_users').where({ resource_id: t.resource.id, user_id: t.user.id }).first();
    await ctx.services.db('resource_users').where({ resource_id: t.resource.id, user_id: t.user.id }).update({ fail_count: 2 });
    assert.deepEqual(await t.challenge(), { status: 'sent' });
    assert.equal((await member()).fail_count, 2, 'asking for a code neither consumes nor resets the counter');

    const until = new Date(Date.now() + 5 * 60_000);
    await ctx.services.db('resource_users').where({ resource_id: t.resource.id, user_id: t.user.id }).update({ fail_count: 10, locked_until: until });
    await ctx.services.db('token_challenges').where({ token_id: t.token.id }).update({ created_at: ctx.services.db.raw("now() - interval '2 minutes'") });
    assert.deepEqual(await t.challenge(), { status: 'sent' });
    assert.deepEqual(await t.counts(), { challenges: 1, messages: 1 }, 'only the code from before the lock');
    const after = await member();
    assert.equal(after.fail_count, 10);
    assert.equal(after.locked_until.getTime(), until.getTime());
  });

  it('SEC-22 unknown, unassigned, blocked users and users without an email/SMS token get the same answer and nothing', async () => {
    const t = await setup('totp');
    const s = ctx.services;
    const unassigned = await createUser(s, t.tenant, { email: `${unique('x')}@example.test` });
    const answers = [await t.challenge(undefined, 'nobody'), await t.challenge(undefined, unassigned.login), await t.challenge()];
    await s.users.block(t.tenant.actor, t.user.id);
    answers.push(await t.challenge());
    assert.deepEqual(answers, Array(4).fill({ status: 'sent' }));
    assert.deepEqual(await t.counts(), { challenges: 0, messages: 0 });
    const reasons = (await s.db('audit_events').where({ tenant_id: t.tenant.tenantId, action: 'challenge.request' }).orderBy('id')).map((e) => e.details.reason);
    assert.deepEqual(reasons, ['unknown_user', 'unknown_user', 'no_token', 'blocked']);
  });

  it('SEC-10 sends SMS to the webhook with a valid HMAC signature', async () => {
    const t = await setup('sms');
    await t.challenge();
    const phone = (await ctx.services.users.get(t.tenant.actor, t.user.id)).phone!;
    const req = await sms.waitFor((r) => r.body.to === phone);
    const timestamp = String(req.headers['x-timestamp']);
    assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 60, 'a current unix timestamp');
    const expected = Buffer.from(signSmsPayload(SMS_SECRET, timestamp, req.raw));
    assert.ok(timingSafeEqual(Buffer.from(String(req.headers['x-signature'])), expected), 'signed with the secret over timestamp and raw body');
    const forged = `sha256=${createHmac('sha256', 'another-secret-of-at-least-32-chars!!').update(`${timestamp}.${req.raw}`).digest('hex')}`;
    assert.notEqual(req.headers['x-signature'], forged, 'a tampered secret does not verify');
    assert.notEqual(req.headers['x-signature'], signSmsPayload(SMS_SECRET, String(Number(timestamp) + 1), req.raw), 'the timestamp is signed');
    assert.deepEqual(Object.keys(req.body).sort(), ['messageId', 'text', 'to']);

    const code = codeIn(req.body.text);
    assert.equal((await t.auth(code)).result, true);
    const message = await waitUntil(async () => {
      const row = await ctx.services.db('messages').where({ id: req.body.messageId }).first();
      return row?.status === 'sent' && row;
    });
    assert.equal(message.channel, 'sms');
    assert.equal(message.body_text, null, 'the code does not stay in the database once delivered');
  });

  it('SMS_WEBHOOK_URL needs SMS_WEBHOOK_SECRET of at least 32 characters', () => {
    assert.throws(() => loadConfig({ SMS_WEBHOOK_URL: 'https://sms.example.test/send' }), /SMS_WEBHOOK_SECRET/);
    assert.throws(() => loadConfig({ SMS_WEBHOOK_URL: 'https://sms.example.test/send', SMS_WEBHOOK_SECRET: 'short' }), /SMS_WEBHOOK_SECRET/);
    assert.throws(() => loadConfig({ SMS_WEBHOOK_URL: 'ftp://sms.example.test/', SMS_WEBHOOK_SECRET: SMS_SECRET }), /SMS_WEBHOOK_URL/);
    assert.deepEqual(loadConfig({ SMS_WEBHOOK_URL: 'https://sms.example.test/send', SMS_WEBHOOK_SECRET: SMS_SECRET }).smsWebhook, { url: 'https://sms.example.test/send', secret: SMS_SECRET });
    assert.equal(loadConfig({}).smsWebhook, undefined);
  });

  it('an SMS webhook answering non-2xx fails the attempt (the queue retries)', async () => {
    const webhook = createSmsWebhook({ url: sms.url, secret: SMS_SECRET });
    const message = { id: '00000000-0000-4000-8000-000000000001', recipient: '+14155550123', bodyText: 'x' } as Message;
    sms.status = 503;
    try {
      await assert.rejects(webhook.send(message), /HTTP 503/);
    } finally {
      sms.status = 200;
    }
    await assert.rejects(createSmsWebhook({ url: 'http://127.0.0.1:1/sms', secret: SMS_SECRET }).send(message), /SMS webhook unreachable/);
  });

  it('SEC-10 stores no code in plain text, in challenges, jobs or the audit log', async () => {
    const t = await setup();
    await t.challenge();
    const code = await t.code();
    const rows = await ctx.services.db('token_challenges').where({ token_id: t.token.id });
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(code));
    assert.match(rows[0].code_hash, /^[\w-]+:[0-9a-f]{64}$/);
    assert.ok(jobPayloads.length > 0);
    assert.ok(jobPayloads.every((p) => !p.includes(code) && /^\{"messageId":"[0-9a-f-]{36}"\}$/.test(p)), 'job payloads carry ids only');
    await t.auth(code);
    const audit = await ctx.services.db('audit_events').where({ tenant_id: t.tenant.tenantId });
    assert.ok(!JSON.stringify(audit).includes(code));
  });

  it('SEC-13 emails the user when a backup code is used, with the number left', async () => {
    const s = ctx.services;
    const t = await setup();
    const { token, backupCodes } = await s.tokens.create(t.tenant.actor, { type: 'backup_codes', userId: t.user.id });
    await s.resources.update(t.tenant.actor, t.resource.id, { maxTokensPerUser: 2 });
    await s.tokens.assignToResource(t.tenant.actor, t.resource.id, token.id);
    assert.deepEqual(await t.auth(backupCodes![0]), { result: true, token: { serial: token.serial, type: 'backup_codes' } });
    const mail = await smtp.waitFor((m) => m.to.includes(t.email) && /backup code/i.test(m.subject));
    assert.match(mail.text, /9 backup codes left/);
    assert.ok(!backupCodes!.some((c) => mail.text.includes(c)), 'the mail names no code');
  });
});
