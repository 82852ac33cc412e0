/** The `message.send` processor against the real database and a real SMTP server (the sink). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { unique } from '../helpers/factories';
import { freePort } from '../helpers/wait';
import { insertMessage } from '../../src/outbox/message.repository';
import { createSendMessageProcessor } from '../../src/jobs/processors/send-message.processor';
import { createMailer } from '../../src/mail/mailer';

describe('job message.send', () => {
  let sink: SmtpSink;
  let ctx: TestContext;
  before(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext({ SMTP_URL: sink.url });
  });
  after(async () => {
    await ctx.close();
    await sink.close();
  });

  /** A queued row with no job: the tests call the processor themselves. */
  async function queuedMessage() {
    const subject = unique('Subject');
    const message = await insertMessage(ctx.services.db, null, { recipient: `${unique('to')}@example.test`, subject, bodyText: `Your code is 123456 (${subject})` });
    return message;
  }
  const row = (id: string) => ctx.services.db('messages').where({ id }).first();
  const firstAttempt = { number: 1, final: false };

  it('delivers a queued message over SMTP once, marks it sent and drops the body', async () => {
    const message = await queuedMessage();
    await ctx.services.processors.sendMessage({ messageId: message.id }, firstAttempt);
    const mail = await sink.waitFor((m) => m.subject === message.subject, 2_000);
    assert.deepEqual(mail.to, [message.recipient]);
    assert.equal(mail.text, message.bodyText);
    const stored = await row(message.id);
    assert.equal(stored.status, 'sent');
    assert.equal(stored.body_text, null, 'a delivered body (maybe a one-time code) must not stay in the database');
    assert.ok(stored.delivered_at);

    // The same job again (a duplicate or a retry after a lost acknowledgement) sends nothing.
    await ctx.services.processors.sendMessage({ messageId: message.id }, { number: 2, final: false });
    assert.equal(sink.received.filter((m) => m.subject === message.subject).length, 1);
  });

  it('skips a message that is no longer queued, and an unknown id', async () => {
    const message = await queuedMessage();
    await ctx.services.db('messages').where({ id: message.id }).update({ status: 'failed' });
    await ctx.services.processors.sendMessage({ messageId: message.id }, firstAttempt);
    await ctx.services.processors.sendMessage({ messageId: 'not-a-uuid' }, firstAttempt);
    await ctx.services.processors.sendMessage({ messageId: '00000000-0000-4000-8000-000000000000' }, firstAttempt);
    assert.equal(sink.received.filter((m) => m.subject === message.subject).length, 0);
    const stored = await row(message.id);
    assert.equal(stored.status, 'failed');
    assert.equal(stored.body_text, message.bodyText);
  });

  it('records a failed attempt and throws (so the queue retries), then marks the message failed on the final attempt', async () => {
    const unreachable = createMailer({ smtpUrl: `smtp://127.0.0.1:${await freePort()}`, from: ctx.config.mailFrom, log: ctx.services.log });
    const processor = createSendMessageProcessor(ctx.services.db, unreachable, ctx.services.log);
    const message = await queuedMessage();
    try {
      await assert.rejects(processor({ messageId: message.id }, firstAttempt), /ECONNREFUSED|connect/i);
      let stored = await row(message.id);
      assert.equal(stored.status, 'queued', 'still queued while retries remain');
      assert.equal(stored.attempts, 1);
      assert.match(stored.last_error, /ECONNREFUSED|connect/i);

      await assert.rejects(processor({ messageId: message.id }, { number: 2, final: true }));
      stored = await row(message.id);
      assert.equal(stored.status, 'failed');
      assert.equal(stored.attempts, 2);
      assert.equal(stored.delivered_at, null);
    } finally {
      unreachable.close();
    }
  });
});
