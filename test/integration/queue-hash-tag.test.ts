/**
 * Redis Cluster compatibility (issue 14): with QUEUE_PREFIX in braces, BullMQ's prefix form, every
 * key a producer and a worker write carries the same hash tag, so all of them hash to one cluster
 * slot (BullMQ's Lua scripts touch several keys at once, which a cluster allows only within a slot).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, unique } from '../helpers/factories';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { testRedisUrl } from '../helpers/env';
import { waitUntil } from '../helpers/wait';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { startBullWorkers, type BullWorkers } from '../../src/jobs/bull-transport';
import { loadConfig } from '../../src/config';

/** The part of a key Redis Cluster hashes: between the first "{" and the next "}", when not empty. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('queue keys carry a Redis Cluster hash tag', () => {
  let ctx: TestContext;
  let sink: SmtpSink;
  let workers: BullWorkers | undefined;
  const tag = unique('t');
  const prefix = `{${tag}}`;

  before(async () => {
    sink = await startSmtpSink();
    ctx = await createTestContext({ REDIS_URL: testRedisUrl(), SMTP_URL: sink.url, QUEUE_PREFIX: prefix });
  });
  after(async () => {
    await workers?.close();
    await ctx?.close();
    await sink?.close();
    await deleteQueueKeys(prefix);
  });

  it('defaults to {mfa}, accepts a plain name (single Redis) and refuses a half tag', () => {
    assert.equal(loadConfig({}).queuePrefix, '{mfa}');
    assert.equal(loadConfig({ QUEUE_PREFIX: 'mfa' }).queuePrefix, 'mfa');
    for (const bad of ['{mfa', 'mfa}', 'a{b}', '{}', '{a:b}']) assert.throws(() => loadConfig({ QUEUE_PREFIX: bad }), /QUEUE_PREFIX/, bad);
  });

  it('a job enqueued and processed under {prefix}: every key it left has the one tag', async () => {
    const tenant = await createTenant(ctx.services);
    const subject = unique('tagged');
    await ctx.services.messages.send(tenant.tenantId, { recipient: 'someone@example.test', subject, bodyText: 'hash tag' });
    workers = startBullWorkers(testRedisUrl(), ctx.services.processors, ctx.services.log, { prefix });
    await sink.waitFor((m) => m.subject === subject, 20_000);
    await waitUntil(async () => (await ctx.services.queue.counts()).email.completed === 1, 10_000, 'the job to complete');

    const redis = new Redis(testRedisUrl());
    try {
      const keys = await redis.keys(`*${tag}*`);
      assert.ok(keys.length >= 5, `BullMQ wrote its keys: ${keys.join(', ')}`);
      for (const key of keys) {
        assert.ok(key.startsWith(`${prefix}:`), key);
        assert.equal(hashTag(key), tag, key);
      }
      assert.ok(keys.includes(`${prefix}:email:meta`) && keys.includes(`${prefix}:email:completed`), keys.join(', '));
    } finally {
      await redis.quit();
    }
  });
});
