/**
 * Email end to end: services.messages → queue → processor → nodemailer → a real SMTP server.
 * BullMQ runs on the machine's Redis under a prefix of its own, so parallel test files never
 * take each other's jobs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { createTenant, TEST_PASSWORD, unique } from '../helpers/factories';
import { postForm, signIn } from '../helpers/admin-agent';
import { testRedisUrl } from '../helpers/env';
import { freePort, waitUntil } from '../helpers/wait';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { startBullWorkers, type BullWorkers } from '../../src/jobs/bull-transport';
import { insertMessage } from '../../src/outbox/message.repository';

const recipient = () => `${unique('to')}@example.test`;

async function statusOf(ctx: TestContext, id: string): Promise<string> {
  return (await ctx.services.db('messages').where({ id }).first()).status;
}

describe('email through BullMQ and the worker', () => {
  let sink: SmtpSink;
  let ctx: TestContext;
  let workers: BullWorkers | undefined;
  /** The worker process's job, run in this process: started by the first test that needs it, once. */
  const ensureWorkers = () => (workers ??= startBullWorkers(testRedisUrl(), ctx.services.processors, ctx.services.log, { prefix: ctx.config.queuePrefix }));

  before(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext({ REDIS_URL: testRedisUrl(), SMTP_URL: sink.url, QUEUE_PREFIX: unique('t') });
  });
  after(async () => {
    await workers?.close();
    await ctx.close();
    await sink.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  it('delivers an email enqueued while no worker runs once the worker starts', async () => {
    assert.equal(ctx.services.queue.mode, 'bullmq');
    const subject = unique('Queued while stopped');
    const to = recipient();
    const message = await ctx.services.messages.send(null, { recipient: to, subject, bodyText: 'Hello from the queue' });
    assert.equal((await ctx.services.queue.counts()).email.waiting, 1, 'the job waits in Redis');
    assert.equal(await statusOf(ctx, message.id), 'queued');

    assert.equal(workers, undefined);
    ensureWorkers();
    const mail = await sink.waitFor((m) => m.subject === subject);
    assert.deepEqual(mail.to, [to]);
    assert.equal(mail.text, 'Hello from the queue');
    await waitUntil(async () => (await statusOf(ctx, message.id)) === 'sent', 5_000, 'the message to be marked sent');
  });

  it('sends an admin invitation whose /admin/invite/ link works', async () => {
    ensureWorkers();
    const tenant = await createTenant(ctx.services);
    const email = recipient();
    await ctx.services.admins.invite(tenant.actor, { email, role: 'admin' });
    const mail = await sink.waitFor((m) => m.to.includes(email));
    assert.match(mail.subject, /invited/i);
    const link = mail.text.match(/http:\/\/localhost:3000(\/admin\/invite\/[A-Za-z0-9_-]+)/);
    assert.ok(link, `no invitation link in:\n${mail.text}`);

    const agent = request.agent(ctx.app);
    assert.equal((await agent.get(link[1])).status, 200);
    const accepted = await postForm(agent, link[1], link[1], { name: 'Invited Admin', password: TEST_PASSWORD });
    assert.equal(accepted.status, 303);
    assert.equal(accepted.headers.location, '/admin/sign-in');
    const admin = await ctx.services.db('admins').where({ tenant_id: tenant.tenantId, email }).first();
    assert.ok(admin.password_hash, 'the invited admin has a password now');
  });

  it('the sweep re-enqueues a queued message whose job was lost', async () => {
    ensureWorkers();
    const subject = unique('Lost job');
    // A row without a job, as left by an enqueue that failed while Redis was down. Dated far back so
    // it is among the first the sweep picks up, whatever other rows the shared test database holds.
    const message = await insertMessage(ctx.services.db, null, { recipient: recipient(), subject, bodyText: 'found again' });
    await ctx.services.db('messages').where({ id: message.id }).update({ created_at: new Date('2000-01-01T00:00:00Z') });

    assert.ok((await ctx.services.messages.sweep()) >= 1);
    await sink.waitFor((m) => m.subject === subject);
    await waitUntil(async () => (await statusOf(ctx, message.id)) === 'sent', 5_000, 'the swept message to be marked sent');
  });
});

describe('email without a worker process (no REDIS_URL)', () => {
  let sink: SmtpSink;
  before(async () => {
    sink = await startSmtpSink();
  });
  after(() => sink.close());

  it('delivers over SMTP inside the web process', async () => {
    const ctx = await createTestContext({ SMTP_URL: sink.url });
    try {
      assert.equal(ctx.services.queue.mode, 'in-process');
      const subject = unique('In process');
      const message = await ctx.services.messages.send(null, { recipient: recipient(), subject, bodyText: 'no Redis needed' });
      const mail = await sink.waitFor((m) => m.subject === subject);
      assert.equal(mail.text, 'no Redis needed');
      await waitUntil(async () => (await statusOf(ctx, message.id)) === 'sent', 5_000, 'the message to be marked sent');
    } finally {
      await ctx.close();
    }
  });

  it('without SMTP_URL captures the email and shows it in the Outbox', async () => {
    const ctx = await createTestContext();
    try {
      const tenant = await createTenant(ctx.services);
      const subject = unique('Captured');
      const message = await ctx.services.messages.send(tenant.tenantId, { recipient: recipient(), subject, bodyText: 'kept for the Outbox' });
      await waitUntil(async () => (await statusOf(ctx, message.id)) === 'captured', 5_000, 'the message to be captured');
      const row = await ctx.services.db('messages').where({ id: message.id }).first();
      assert.equal(row.body_text, 'kept for the Outbox', 'a captured body stays readable in the Outbox');
      assert.equal(sink.received.filter((m) => m.subject === subject).length, 0);

      const agent = await signIn(ctx.app, tenant);
      const outbox = await agent.get('/admin/outbox');
      assert.equal(outbox.status, 200);
      assert.ok(outbox.text.includes(subject), 'the Outbox lists the captured email');
    } finally {
      await ctx.close();
    }
  });
});

describe('email with Redis unreachable', () => {
  it('keeps the message queued for the sweep and answers at once; /readyz says not ready', async () => {
    const ctx = await createTestContext({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, QUEUE_PREFIX: unique('t') });
    try {
      const started = Date.now();
      const message = await ctx.services.messages.send(null, { recipient: recipient(), subject: unique('Redis down'), bodyText: 'later' });
      assert.ok(Date.now() - started < 5_000, `send took ${Date.now() - started} ms`);
      assert.equal(await statusOf(ctx, message.id), 'queued');
      const ready = await request(ctx.app).get('/readyz');
      assert.equal(ready.status, 503);
      assert.equal(ready.body.checks.redis, 'unreachable');
      // Leave nothing for other files' sweeps to deliver.
      await ctx.services.db('messages').where({ id: message.id }).delete();
    } finally {
      await ctx.close();
      await deleteQueueKeys(ctx.config.queuePrefix);
    }
  });
});
