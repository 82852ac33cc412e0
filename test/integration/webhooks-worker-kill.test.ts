/**
 * Webhook fan-out survives a killed worker (issue 13 §1): audit events keep arriving while a real
 * worker process (Procfile `worker`) fans them out and delivers them; it is SIGKILLed mid-way, a
 * second one is started, and every event reaches the receiver (duplicates allowed, no loss). What
 * the kill left behind (events not fanned out, deliveries not made) is recovered by the dispatcher's
 * poll: unmarked events are fanned out again, deliveries whose attempt lease ran out are retried.
 * Its own database, so no other test file's events or endpoints mix in; the shared Redis under a
 * prefix of its own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, unique } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { waitUntil } from '../helpers/wait';
import { killAllChildren, spawnRole, terminate } from '../helpers/processes';
import { createOwnDatabase, type OwnDatabase } from '../helpers/fault-servers';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from '../helpers/webhook-receiver';
import { testRedisUrl } from '../helpers/env';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { toAuditRow } from '../../src/audit/audit.repository';
import { withTimeout } from '../../src/lib/timing';

const EVENTS = 1200;
const WAVES = 12;

describe('webhooks: the worker process killed mid-fan-out', () => {
  let database: OwnDatabase;
  let receiver: WebhookReceiver;
  let ctx: TestContext | undefined;
  const prefix = unique('hooks');

  before(async () => {
    database = await createOwnDatabase('hooks_kill');
    // A receiver that takes a little time per request, so deliveries are in flight at the kill.
    receiver = await startWebhookReceiver(() => ({ status: 200, delayMs: 15 }));
  });
  after(async () => {
    if (ctx) await withTimeout(5_000, 'closing', ctx.close()).catch(() => undefined);
    await killAllChildren();
    await receiver?.close();
    await database?.drop();
    await deleteQueueKeys(prefix);
  });

  it(`SIGKILL while ${EVENTS} events arrive and fan out, restart: every event delivered, duplicates only`, async () => {
    const redisUrl = testRedisUrl();
    // With Redis the web side only enqueues; the workers process and dispatch.
    ctx = await createTestContext({ DATABASE_URL: database.url, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix });
    const env = { NODE_ENV: 'test', DATABASE_URL: database.url, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', WEBHOOK_TIMEOUT_MS: '2000', AUDIT_DISPATCH_INTERVAL_MS: '200' };
    const t = await createTenant(ctx.services);
    const { body: ep } = await apiClient(ctx.app, t.apiKey).post('/webhooks', { url: receiver.url, events: ['user.update'] });
    assert.ok(ep.secret, 'endpoint created');
    const run = unique('run');
    const db = ctx.services.db;

    // Events written in bulk statements, as many writers do; they keep coming during the kill.
    let written = 0;
    const writeWave = async () => {
      const rows = Array.from({ length: EVENTS / WAVES }, () => toAuditRow(t.actor, { action: 'user.update', targetType: 'user', details: { run, n: written++ } }));
      await db('audit_events').insert(rows);
    };
    await writeWave();
    const first = spawnRole('worker', env);
    const writer = (async () => {
      for (let i = 1; i < WAVES; i++) {
        await new Promise((r) => setTimeout(r, 250));
        await writeWave();
      }
    })();

    await waitUntil(() => {
      if (!first.running()) throw new Error(`worker exited:\n${first.output()}`);
      return receiver.received.length >= 150;
    }, 60_000, 'the first worker to be delivering');
    first.proc.kill('SIGKILL');
    await first.exited;
    const receivedAtKill = receiver.received.length;
    const notFannedOut = Number((await db('audit_events').where({ tenant_id: t.tenantId }).whereNull('fanned_out_at').count<{ count: string }[]>('* as count'))[0].count);
    const openAtKill = Number((await db('webhook_deliveries').where({ endpoint_id: ep.id }).whereNot({ status: 'delivered' }).count<{ count: string }[]>('* as count'))[0].count);
    const killedAt = Date.now();
    await writer;

    const second = spawnRole('worker', env);
    const expected = new Set(
      (await db('audit_events').where({ tenant_id: t.tenantId, action: 'user.update' }).select('id')).map((r) => String(r.id)),
    );
    assert.equal(expected.size, EVENTS);
    const deliveredEventIds = () => new Set(receiver.received.map((h) => String(h.json.data.eventId)));
    await waitUntil(() => {
      if (!second.running()) throw new Error(`worker exited:\n${second.output()}`);
      return [...expected].every((id) => deliveredEventIds().has(id));
    }, 150_000, `all ${EVENTS} events at the receiver`);
    const recoveredMs = Date.now() - killedAt;
    await waitUntil(async () => (await db('webhook_deliveries').where({ endpoint_id: ep.id }).whereNot({ status: 'delivered' })).length === 0, 30_000, 'every delivery marked delivered');

    const perEvent = new Map<string, number>();
    for (const h of receiver.received) perEvent.set(String(h.json.data.eventId), (perEvent.get(String(h.json.data.eventId)) ?? 0) + 1);
    const twice = [...perEvent.values()].filter((n) => n > 1).length;
    const bad = receiver.received.filter((h) => !verifySignature(ep.secret, h)).length;
    console.log(`killed after ${receivedAtKill} received (${notFannedOut} events not fanned out, ${openAtKill} deliveries open); all ${EVENTS} delivered ${recoveredMs} ms after the kill; ${twice} received twice; ${receiver.received.length} requests`);
    assert.equal(bad, 0, 'every request signed');
    assert.ok(openAtKill > 0, 'the kill left deliveries to recover');
    assert.equal((await db('webhook_deliveries').where({ endpoint_id: ep.id })).length, EVENTS, 'one delivery per event');
    assert.equal((await db('audit_events').where({ tenant_id: t.tenantId }).whereNull('fanned_out_at')).length, 0);
    const { code } = await terminate(second, 15_000);
    assert.equal(code, 0);
  });
});
