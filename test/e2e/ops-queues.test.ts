/**
 * The operators' queue dashboard (issue 13 §4) in a real browser: /ops/queues refuses a visitor
 * without or with wrong operator credentials, and with them shows the queues and a failed email
 * job; Retry runs the job again and the email reaches the SMTP sink.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DESKTOP_VIEWPORT, screenshot, stepper, useBrowser } from '../helpers/browser';
import { unique } from '../helpers/factories';
import { testRedisUrl } from '../helpers/env';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { waitUntil } from '../helpers/wait';
import { startBullWorkers, type BullWorkers } from '../../src/jobs/bull-transport';
import type { Processors } from '../../src/jobs/queue';

const step = stepper('ops-queues-');
const OPS = { username: 'operator', password: 'a long operator password for tests' };

describe('operators: the queue dashboard in a real browser', () => {
  const env: Record<string, string | undefined> = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: unique('ops'), OPS_USERNAME: OPS.username, OPS_PASSWORD: OPS.password };
  let sink: SmtpSink;
  let workers: BullWorkers | undefined;
  before(async () => {
    sink = await startSmtpSink();
    env.SMTP_URL = sink.url;
  });
  const b = useBrowser(env);
  after(async () => {
    await workers?.close();
    await sink.close();
    await deleteQueueKeys(env.QUEUE_PREFIX!);
  });

  it('refuses without credentials, shows a failed job with them, and retries it', { timeout: 120_000 }, async () => {
    const s = b.ctx.services;
    const to = `${unique('ops')}@example.test`;
    // The first delivery attempt fails as if SMTP were down; the retry delivers for real.
    let calls = 0;
    const processors: Processors = {
      ...s.processors,
      sendMessage: async (payload, attempt) => {
        calls++;
        if (calls === 1) throw new Error('SMTP server unreachable (simulated)');
        await s.processors.sendMessage(payload, attempt);
      },
    };
    const message = await s.messages.send(null, { recipient: to, subject: 'Queued while SMTP was down', bodyText: 'hello' });
    // One attempt only, so the job is failed at once instead of retrying with backoff.
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    const email = new Queue('email', { connection: redis, prefix: env.QUEUE_PREFIX });
    try {
      const job = await email.getJob(`message-${message.id}`);
      assert.ok(job, 'the message has its job');
      await email.remove(job.id!);
      await email.add('message.send', { messageId: message.id }, { jobId: `message-${message.id}`, attempts: 1 });
      workers = startBullWorkers(testRedisUrl(), processors, s.log, { prefix: env.QUEUE_PREFIX! });
      await waitUntil(async () => (await email.getJobCounts('failed')).failed === 1, 10_000, 'the job to fail');

      // Headless Chromium has no one to type into its sign-in prompt: the navigation ends with
      // ERR_INVALID_AUTH_CREDENTIALS, so the refusal is read from the answer itself.
      const refused = async (page: import('playwright-core').Page) => {
        const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/ops/queues');
        await page.goto('/ops/queues').catch(() => undefined);
        const res = await answer;
        assert.equal(res.status(), 401);
        assert.match(String(res.headers()['www-authenticate']), /^Basic realm="MFA operators"/);
      };
      const anonymous = await b.newPage();
      await step(anonymous.page, 'no credentials', () => refused(anonymous.page));
      const wrong = await b.browser.newContext({ baseURL: b.baseUrl, httpCredentials: { username: OPS.username, password: 'not the operator password' } });
      try {
        await step(await wrong.newPage(), 'wrong credentials', async () => refused(wrong.pages()[0]));
      } finally {
        await wrong.close();
      }

      const operator = await b.browser.newContext({ baseURL: b.baseUrl, viewport: DESKTOP_VIEWPORT, httpCredentials: OPS });
      try {
        const page = await operator.newPage();
        await step(page, 'queues', async () => {
          const res = await page.goto('/ops/queues');
          assert.equal(res?.status(), 200);
          for (const name of ['email', 'provisioning', 'audit']) await page.getByText(name, { exact: true }).first().waitFor();
        });
        await step(page, 'failed job', async () => {
          await page.goto('/ops/queues/queue/email?status=failed');
          await page.getByText('SMTP server unreachable (simulated)').first().waitFor();
          await page.getByText('message.send').first().waitFor();
          await screenshot(page, 'ops-queues-failed-job');
        });
        await step(page, 'retry', async () => {
          // bull-board's per-job icon buttons have no accessible name; the failed tab's "Retry all" has.
          await page.getByRole('button', { name: 'Retry all', exact: true }).click();
          const dialog = page.getByRole('alertdialog').or(page.getByRole('dialog'));
          await dialog.getByText('Are you sure that you want to retry all failed jobs?').waitFor();
          await screenshot(page, 'ops-queues-retry-confirm');
          await dialog.getByRole('button', { name: /^(retry|confirm|yes|ok)/i }).first().click();
          const mail = await sink.waitFor((m) => m.to.includes(to), 15_000);
          assert.equal(mail.subject, 'Queued while SMTP was down');
          await waitUntil(async () => (await email.getJobCounts('failed', 'completed')).completed === 1, 10_000, 'the retried job to complete');
          assert.equal(calls, 2);
        });
      } finally {
        await operator.close();
      }
    } finally {
      await email.close();
      await redis.quit();
    }
  });
});
