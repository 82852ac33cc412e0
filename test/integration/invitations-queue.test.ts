/**
 * Enrolment invitations through the real queue (issue 12 §3): BullMQ on the machine's Redis (a
 * prefix of its own), the worker's processors, delivery to a local SMTP sink. The emailed link
 * opens the portal's sign-in with the login filled in, and the sign-in lands on Enroll Token.
 * Then 10 000 invitations: one `invitations.send` job per 1000, one message each, figures logged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { unique } from '../helpers/factories';
import { testRedisUrl } from '../helpers/env';
import { waitUntil } from '../helpers/wait';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { startBullWorkers, type BullWorkers } from '../../src/jobs/bull-transport';
import { assertRedirect, createPortalMember, createPortalWorld, enterLogin, enterSecret, visitor } from '../helpers/portal';

const PASSWORD = 'a long portal passphrase';

describe('invitations through BullMQ, the worker and SMTP', () => {
  let sink: SmtpSink;
  let ctx: TestContext;
  let workers: BullWorkers;

  before(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext({ REDIS_URL: testRedisUrl(), SMTP_URL: sink.url, QUEUE_PREFIX: unique('t') });
    workers = startBullWorkers(testRedisUrl(), ctx.services.processors, ctx.services.log, { prefix: ctx.config.queuePrefix });
  });
  after(async () => {
    await workers?.close();
    await ctx.close();
    await sink.close();
    await deleteQueueKeys(ctx.config.queuePrefix);
  });

  it('the emailed link opens the sign-in with the login filled in, and a user without a token lands on Enroll Token', async () => {
    assert.equal(ctx.services.queue.mode, 'bullmq');
    const w = await createPortalWorld(ctx, { allowedActions: ['enroll_token'], enrollmentTokenTypes: ['totp'] });
    const to = `${unique('ann')}@example.test`.toLowerCase();
    const u = await createPortalMember(ctx, w, { email: to, password: PASSWORD });
    const res = await w.api.post(`/resources/${w.portal.resource.id}/invitations`, { userIds: [u.id] });
    assert.deepEqual(res.body, { invited: 1, skipped: [] });

    const mail = await sink.waitFor((m) => m.to.includes(to), 20_000);
    assert.match(mail.subject, /Set up two-step sign-in/);
    const link = mail.text.match(/http:\/\/localhost:3000(\/portal\/[a-z0-9-]+\/\?login=[^\s]+)/);
    assert.ok(link, `no portal link in:\n${mail.text}`);

    const agent = visitor(ctx.app);
    const page = await agent.get(link[1]);
    assert.equal(page.status, 200);
    assert.ok(page.text.includes(`value="${u.login}"`), 'the login is filled in');
    await enterLogin(agent, w.portal, u.login);
    assertRedirect(await enterSecret(agent, w.portal, PASSWORD), `${w.portal.base}actions/enroll_token`, 'password step');

    // The same call again (a retry) sends nothing more.
    const again = await w.api.post(`/resources/${w.portal.resource.id}/invitations`, { userIds: [u.id] });
    assert.deepEqual(again.body, { invited: 0, skipped: [{ userId: u.id, reason: 'invited_recently' }] });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(sink.received.filter((m) => m.to.includes(to)).length, 1);
  });

  it('10 000 invitations: every user gets exactly one message, queued in batches', { timeout: 300_000 }, async () => {
    const w = await createPortalWorld(ctx);
    const db = ctx.services.db;
    const N = 10_000;
    const tag = unique('bulk');
    for (let i = 0; i < N; i += 1000) {
      const users = await db('users')
        .insert(Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({ tenant_id: w.tenant.tenantId, login: `${tag}-${i + k}`, email: `${tag}-${i + k}@example.test` })))
        .returning('id');
      await db('resource_users').insert(users.map((u) => ({ tenant_id: w.tenant.tenantId, resource_id: w.portal.resource.id, user_id: u.id })));
    }
    const started = Date.now();
    const res = await w.api.post(`/resources/${w.portal.resource.id}/invitations`, { filter: 'not_enrolled' });
    const answered = Date.now();
    assert.equal(res.status, 202);
    assert.equal(res.body.invited, N);
    const count = async () => Number((await db('messages').where({ tenant_id: w.tenant.tenantId }).count('* as n').first())!.n);
    await waitUntil(async () => (await count()) === N, 240_000, `${N} messages`);
    const prepared = Date.now();
    // Each message has its `message.send` job (or is already delivered) once the batch committed.
    const counts = await ctx.services.queue.counts();
    console.log(`# ${N} invitations: API answered in ${answered - started} ms, all ${N} messages prepared and enqueued ${prepared - started} ms after the call; email queue now ${JSON.stringify(counts.email)}`);
    const perUser = await db('messages').where({ tenant_id: w.tenant.tenantId }).groupBy('recipient').havingRaw('count(*) > 1').select('recipient');
    assert.equal(perUser.length, 0, 'one message per user');
    assert.equal(Number((await db('audit_events').where({ tenant_id: w.tenant.tenantId, action: 'invitation.create' }).count('* as n').first())!.n), N);
  });
});
