/**
 * SIGTERM under keep-alive load, against the real web process started as the Procfile's `web` role.
 * Several keep-alive clients send requests in a loop (fast ones and slow password checks); the
 * process gets SIGTERM in the middle. Every request sent before it must get a full answer; after
 * it, a request is answered or its connection refused, never reset; the process exits 0 within 10 s.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, unique } from '../helpers/factories';
import { testDatabaseUrl, testRedisUrl } from '../helpers/env';
import { freePort } from '../helpers/wait';
import { deleteQueueKeys } from '../helpers/redis-keys';
import { killAllChildren, waitForHealthy, procfileCommand, spawnRole, terminate } from '../helpers/processes';

interface Outcome {
  sentAt: number;
  /** 'answered': status and full body received; otherwise the error code. */
  result: 'answered' | string;
  /** The answer had begun (headers received) when the error came: a cut answer. */
  midAnswer: boolean;
  connectionClose: boolean;
  status?: number;
}

/** One request on a keep-alive agent; never rejects, reports what happened. */
function send(agent: http.Agent, port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Outcome> {
  const sentAt = Date.now();
  return new Promise((resolve) => {
    let midAnswer = false;
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      midAnswer = true;
      res.resume();
      res.on('end', () => resolve({ sentAt, result: 'answered', midAnswer: false, connectionClose: res.headers.connection === 'close', status: res.statusCode }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ sentAt, result: err.code ?? err.message, midAnswer: true, connectionClose: false }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ sentAt, result: err.code ?? err.message, midAnswer, connectionClose: false }));
    req.end(body);
  });
}

describe('web process: SIGTERM drains keep-alive clients', () => {
  let ctx: TestContext;
  const prefix = unique('t');

  before(async () => {
    ctx = await createTestContext();
  });
  after(async () => {
    await killAllChildren();
    await ctx?.close();
    await deleteQueueKeys(prefix);
  });

  it('the Procfile runs node directly for every role (the signalled process is the one that drains)', () => {
    for (const role of ['web', 'worker', 'release', 'radius'] as const) assert.equal(procfileCommand(role)[0], 'node', role);
  });

  it('answers every request sent before SIGTERM, cuts none, refuses new connections and exits 0 within 10 s', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant);
    const port = await freePort();
    const web = spawnRole('web', {
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      BASE_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    });
    await waitForHealthy(web, port);

    const fast = () => ['GET', '/readyz', {}, undefined] as const;
    // An unknown login with a password: the service still runs a full argon2id check (SEC-22).
    const slow = () => ['POST', `/api/v1/resources/${resource.id}/authenticate`, { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' }, JSON.stringify({ login: unique('nobody'), password: 'not the password', otp: '123456' })] as const;
    const kinds = [fast, fast, fast, fast, slow, slow, slow];
    const outcomes: Outcome[] = [];
    let stopAt = Infinity;
    const loops = kinds.map(async (kind) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        while (Date.now() < stopAt) {
          const [method, path, headers, body] = kind();
          const outcome = await send(agent, port, method, path, headers, body);
          outcomes.push(outcome);
          // Refused: the listener is gone; this client is done.
          if (outcome.result === 'ECONNREFUSED') return;
        }
      } finally {
        agent.destroy();
      }
    });

    await new Promise((r) => setTimeout(r, 1_500));
    const sigtermAt = Date.now();
    // Bound the loops in case the process never stops answering (the behaviour before the fix).
    stopAt = sigtermAt + 15_000;
    const stopping = terminate(web, 20_000);
    const { code, ms } = await stopping;
    stopAt = 0;
    await Promise.all(loops);

    const before = outcomes.filter((o) => o.sentAt < sigtermAt);
    const afterSignal = outcomes.filter((o) => o.sentAt >= sigtermAt);
    const summary = (list: Outcome[]) => {
      const counts = new Map<string, number>();
      for (const o of list) {
        const key = `${o.result}${o.midAnswer ? ' mid-answer' : ''}${o.status ? ` ${o.status}` : ''}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return JSON.stringify(Object.fromEntries(counts));
    };
    const figures = `before SIGTERM: ${summary(before)}; after: ${summary(afterSignal)}; exit ${code} after ${ms} ms`;
    console.log(figures);

    assert.ok(before.length > 20, `too little load to mean anything: ${figures}`);
    assert.deepEqual(before.filter((o) => o.result !== 'answered'), [], `requests sent before SIGTERM were not answered: ${figures}\n${web.output()}`);
    assert.ok(before.every((o) => o.status === 200), `every answer is a 200: ${figures}`);
    assert.deepEqual(outcomes.filter((o) => o.midAnswer), [], `answers cut mid-way: ${figures}`);
    assert.deepEqual(afterSignal.filter((o) => o.result !== 'answered' && o.result !== 'ECONNREFUSED'), [], `after SIGTERM only answers or refusals: ${figures}`);
    assert.ok(afterSignal.filter((o) => o.result === 'answered').every((o) => o.connectionClose), `answers after SIGTERM tell the client to close: ${figures}`);
    assert.equal(code, 0, web.output());
    assert.ok(ms < 10_000, `exit took ${ms} ms`);
  });
});
