/**
 * PostgreSQL restarted (pg_ctl restart -m fast: every connection cut) under validation load, on a
 * PostgreSQL server of this file's own, with the real web process on it. Concurrent clients send
 * right codes (TOTP users) and wrong codes (other users) to POST /api/v1/resources/{id}/authenticate
 * before, during and after the restart:
 * - a wrong code is never accepted, outage or not (SEC-09: fail closed);
 * - the web process recovers by itself: answers succeed again within seconds, without a restart;
 *   meanwhile requests get 503 `unavailable` (retry later), not 500;
 * - every `result: true` a client got has its success audit row (same statement as the claim).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { createServices, type Services } from '../../src/services';
import { createApp } from '../../src/app';
import { createLogger } from '../../src/lib/logger';
import { base32Encode, generateTotp } from '../../src/otp/otp-engine';
import { apiClient } from '../helpers/api-client';
import { createResource, createTenant, createUser } from '../helpers/factories';
import { freePort } from '../helpers/wait';
import { killAllChildren, waitForHealthy, spawnRole, terminate } from '../helpers/processes';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres';

const TOTP = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;
const CLIENTS = 8;
/** At most one right code per this many ms: 30 members (each gains a step every 30 s, and the +1 window gives 2 at first) never run dry. */
const RIGHT_CODE_EVERY_MS = 300;

interface Member {
  login: string;
  userId: string;
  seed: Buffer;
  /** Right-code members: the last step whose code the client sent, and whether a request is out. */
  usedStep: number;
  busy: boolean;
  trues: number;
  /** Right-code requests whose outcome the client never learnt (5xx, connection error). */
  unknown: number;
}

interface Answer {
  at: number;
  right: boolean;
  /** HTTP status, or 0 when the request failed without an answer. */
  status: number;
  result?: boolean;
  /** The error code of a non-200 JSON answer. */
  error?: string;
}

const step = (ms: number) => Math.floor(ms / 1000 / TOTP.period);

/** A 6-digit code none of the steps the server accepts now (±1) would produce. */
function wrongCode(seed: Buffer, now: number): string {
  const accepted = new Set([-1, 0, 1].map((d) => generateTotp(seed, now + d * TOTP.period * 1000, TOTP)));
  let code = Number(generateTotp(seed, now, TOTP));
  do code = (code + 1) % 1_000_000;
  while (accepted.has(String(code).padStart(6, '0')));
  return String(code).padStart(6, '0');
}

describe('faults: PostgreSQL restarted under validation load', () => {
  let pg: OwnPostgres | undefined;
  let services: Services | undefined;

  before(async () => {
    pg = await startOwnPostgres();
  });
  after(async () => {
    await killAllChildren();
    await services?.close().catch(() => undefined);
    await pg?.destroy();
  });

  it('never accepts a wrong code, recovers without a restart, and audits every success the clients saw', async () => {
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: pg!.url, DATABASE_POOL_MAX: '4', LOG_LEVEL: 'silent', BASE_URL: 'http://localhost:3000' });
    services = await createServices(config, { log: createLogger('silent'), migrate: true });
    const tenant = await createTenant(services);
    const api = apiClient(createApp(services), tenant.apiKey);
    // Wrong codes lock users (5 tries); a locked user still gets its answer from the database.
    const resource = await createResource(services, tenant, { failedAttemptsLimit: 10, lockMinutes: 1 });
    const members = async (count: number): Promise<Member[]> =>
      Promise.all(
        Array.from({ length: count }, async () => {
          const user = await createUser(services!, tenant);
          await services!.users.assign(tenant.actor, resource.id, user.id);
          const seed = randomBytes(20);
          const token = await api.post('/tokens', { userId: user.id, type: 'totp', secret: base32Encode(seed) });
          assert.equal(token.status, 201, token.text);
          assert.equal((await api.put(`/resources/${resource.id}/tokens/${token.body.id}`)).status, 204);
          return { login: user.login, userId: user.id, seed, usedStep: -1, busy: false, trues: 0, unknown: 0 };
        }),
      );
    const right = await members(30);
    const wrong = await members(16);

    const port = await freePort();
    const web = spawnRole('web', { NODE_ENV: 'test', PORT: String(port), HOST: '127.0.0.1', BASE_URL: `http://127.0.0.1:${port}`, DATABASE_URL: pg!.url, DATABASE_POOL_MAX: '8', LOG_LEVEL: 'error' });
    const url = `http://127.0.0.1:${port}/api/v1/resources/${resource.id}/authenticate`;
    await waitForHealthy(web, port);

    const answers: Answer[] = [];
    let stop = false;
    let turn = 0;
    let lastRight = 0;
    /**
     * The next step a member's code may use: after its last one, not in the past (a code for the
     * previous step sent just before a step ends would arrive outside the window), at most one ahead.
     */
    const nextStep = (m: Member, now: number) => Math.max(m.usedStep + 1, step(now));
    async function client(): Promise<void> {
      while (!stop) {
        const now = Date.now();
        // A right code every RIGHT_CODE_EVERY_MS, a wrong one otherwise.
        const member = now - lastRight >= RIGHT_CODE_EVERY_MS ? right.find((m) => !m.busy && nextStep(m, now) <= step(now) + 1) : undefined;
        const target = member ?? wrong[turn++ % wrong.length];
        let otp: string;
        if (member) {
          lastRight = now;
          member.busy = true;
          member.usedStep = nextStep(member, now);
          otp = generateTotp(member.seed, member.usedStep * TOTP.period * 1000, TOTP);
        } else {
          otp = wrongCode(target.seed, now);
        }
        const answer: Answer = { at: now, right: !!member, status: 0 };
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({ login: target.login, otp }),
            signal: AbortSignal.timeout(10_000),
          });
          answer.status = res.status;
          const body = await res.json().catch(() => undefined);
          if (res.status === 200) answer.result = body?.result;
          else answer.error = body?.error?.code;
        } catch {
          // No answer: refused, reset or timed out.
        }
        if (member) {
          if (answer.result === true) {
            member.trues++;
          } else if (answer.result === undefined) {
            member.unknown++;
          }
          member.busy = false;
        }
        answers.push(answer);
        if (answer.status !== 200) await new Promise((r) => setTimeout(r, 20));
      }
    }
    const clients = Array.from({ length: CLIENTS }, () => client());

    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(3_000);
    const restartAt = Date.now();
    await pg!.restart();
    const restartedAt = Date.now();
    // Let the load run on: the process must recover by itself.
    await sleep(6_000);
    const calmFrom = Date.now() - 2_000;
    stop = true;
    await Promise.all(clients);

    // The outage: from the restart to the last request without a 200 answer.
    const failed = answers.filter((a) => a.at >= restartAt && a.status !== 200);
    const lastFailure = failed.length ? failed[failed.length - 1].at : restartAt;
    const outage = answers.filter((a) => a.at >= restartAt && a.at <= lastFailure);
    const recovered = answers.find((a) => a.at > lastFailure && a.status === 200 && a.result === true);
    const count = (list: Answer[]) => {
      const counts = new Map<string, number>();
      for (const a of list) {
        const key = `${a.right ? 'right' : 'wrong'} ${a.status || 'no answer'}${a.result === undefined ? '' : ` ${a.result}`}${a.error ? ` ${a.error}` : ''}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return JSON.stringify(Object.fromEntries(counts));
    };
    const figures = `restart took ${restartedAt - restartAt} ms; last failed request sent ${lastFailure - restartedAt} ms after it, first success after that ${recovered ? recovered.at - restartedAt : '—'} ms after it; before: ${count(answers.filter((a) => a.at < restartAt))}; outage: ${count(outage)}; after: ${count(answers.filter((a) => a.at > lastFailure))}`;
    console.log(figures);

    assert.deepEqual(answers.filter((a) => !a.right && a.result === true), [], `a wrong code was accepted: ${figures}`);
    assert.ok(web.running(), `the web process survived the restart:\n${web.output()}`);
    assert.ok(failed.length > 0, `the restart cut requests (else this test tested nothing): ${figures}`);
    assert.ok(recovered, `no success after the outage: ${figures}\n${web.output()}`);
    const calm = answers.filter((a) => a.at >= calmFrom);
    assert.ok(calm.length > 0 && calm.every((a) => a.status === 200), `the last 2 s answered 200 throughout: ${count(calm)}`);
    assert.ok(answers.filter((a) => a.at < restartAt && a.right && a.result === true).length > 0, `load before the restart had successes: ${figures}`);
    // During the outage: a refusal, a 503 "unavailable" (try again) or no answer; never a 4xx (the
    // request was fine) nor a 500 (nothing is broken in the service).
    assert.deepEqual(failed.filter((a) => a.status !== 0 && !(a.status === 503 && a.error === 'unavailable')), [], `answers during the outage: ${figures}`);

    const { code } = await terminate(web, 10_000);
    assert.equal(code, 0, web.output());

    const audited = await services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'authenticate', result: 'success' }).select('target_id');
    const successes = new Map<string, number>();
    for (const row of audited) successes.set(row.target_id, (successes.get(row.target_id) ?? 0) + 1);
    for (const m of right) {
      const rows = successes.get(m.userId) ?? 0;
      // Every success the client saw is audited; a success whose answer was lost may be audited too.
      assert.ok(rows >= m.trues && rows <= m.trues + m.unknown, `${m.login}: ${rows} success rows, client saw ${m.trues} (+${m.unknown} unknown)`);
    }
    for (const m of wrong) assert.equal(successes.get(m.userId) ?? 0, 0, `${m.login} never succeeded`);
    const trues = right.reduce((n, m) => n + m.trues, 0);
    console.log(`successes: client saw ${trues}, audit has ${audited.length}; right-code requests without an answer: ${right.reduce((n, m) => n + m.unknown, 0)}`);
  });
});
