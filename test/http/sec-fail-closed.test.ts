/**
 * SEC-09 fail closed on the validation path: when the database cannot answer — a statement that
 * times out, a connection killed mid-statement — the API answers 503 (never `result: true`), and
 * nothing is half done: the same right code works once the database answers again. Real
 * PostgreSQL failures, no mocks: another connection holds the user's row `FOR UPDATE`, so the
 * finishing statement of the check waits on it; then a short statement_timeout ends it, or
 * pg_terminate_backend kills its connection.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import knex, { type Knex } from 'knex';
import { createTestContext, type TestContext } from '../helpers/context';
import { testDatabaseUrl } from '../helpers/env';
import { createApiToken, createPortalMember, createPortalWorld, enterLogin, enterSecondFactor, enterSecret, visitor, type PortalWorld } from '../helpers/portal';
import { TEST_PASSWORD } from '../helpers/factories';
import { waitUntil } from '../helpers/wait';
import { base32Encode, generateTotp } from '../../src/otp/otp-engine';

const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const totpNow = () => generateTotp(SEED, Date.now(), { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 });
const withOptions = (url: string, options: string) => Object.assign(new URL(url), { search: `?options=${encodeURIComponent(options)}` }).toString();

describe('SEC-09 the validation path fails closed', () => {
  let ctx: TestContext;
  let other: Knex;
  before(async () => {
    // The service's own pool gives up on a statement after 1.5 s.
    ctx = await createTestContext({ DATABASE_URL: withOptions(testDatabaseUrl(), '-c statement_timeout=1500') });
    other = knex({ client: 'pg', connection: testDatabaseUrl(), pool: { min: 0, max: 2 } });
  });
  after(async () => {
    await other.destroy();
    await ctx.close();
  });

  async function member() {
    const w = await createPortalWorld(ctx);
    const user = await createPortalMember(ctx, w);
    await createApiToken(w, { userId: user.id, type: 'totp', secret: base32Encode(SEED) }, w.portal.resource.id);
    return { w, user };
  }
  const authenticate = (w: PortalWorld, login: string, otp: string) => w.api.post(`/resources/${w.portal.resource.id}/authenticate`, { login, otp });

  /** Runs `work` while another transaction holds the user's assignment row FOR UPDATE; passes that transaction's backend pid. */
  async function whileRowLocked<T>(userId: string, work: (lockerPid: number) => Promise<T>): Promise<T> {
    const trx = await other.transaction();
    try {
      await trx.raw('SELECT 1 FROM resource_users WHERE user_id = ? FOR UPDATE', [userId]);
      const { rows } = await trx.raw('SELECT pg_backend_pid() AS pid');
      return await work(rows[0].pid);
    } finally {
      await trx.rollback();
    }
  }

  function assertUnavailable(res: { status: number; text: string; body: { result?: unknown; error?: { code?: string } }; headers: Record<string, string> }) {
    assert.equal(res.status, 503, res.text);
    assert.equal(res.body.result, undefined, 'no result at all, never true');
    assert.equal(res.body.error?.code, 'unavailable');
    assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/, 'Retry-After in seconds');
    assert.doesNotMatch(res.text, /at .*\.(ts|js):\d+|57014|statement timeout/, 'nothing internal shown');
  }

  it('SEC-09 a statement timeout answers 503 with a right code; the code still works once the database answers', async () => {
    const { w, user } = await member();
    const code = totpNow();
    const res = await whileRowLocked(user.id, () => authenticate(w, user.login, code));
    assertUnavailable(res);
    const retried = await authenticate(w, user.login, code);
    assert.equal(retried.body.result, true, 'the timed-out check claimed nothing');
    assert.deepEqual((await authenticate(w, user.login, code)).body, { result: false }, 'and then it is spent (SEC-05)');
  });

  it('SEC-09 a connection killed in the middle of the check answers 503, never true', async () => {
    const { w, user } = await member();
    const code = totpNow();
    const res = await whileRowLocked(user.id, async (lockerPid) => {
      const pending = authenticate(w, user.login, code).then((r) => r);
      // The check's statement is waiting on this test's row lock: kill its connection (only the
      // backends our lock blocks, never another test file's).
      const killed = await waitUntil(
        async () => {
          const { rows } = await other.raw(
            `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
              WHERE datname = current_database() AND ? = ANY(pg_blocking_pids(pid))`,
            [lockerPid],
          );
          return rows.length > 0;
        },
        5_000,
        'the check to wait on the lock',
      );
      assert.ok(killed);
      return pending;
    });
    assertUnavailable(res);
    // The pool drops the killed connection; a request that meets it first may still answer 503.
    let after = await authenticate(w, user.login, code);
    for (let retry = 0; retry < 5 && after.status === 503; retry++) after = await authenticate(w, user.login, code);
    assert.equal(after.body.result, true, `the pool recovers; nothing was claimed (${after.status} ${after.text})`);
  });

  it('SEC-09 the portal second step answers the 503 page when the check times out, signs nobody in, and the code works afterwards', async () => {
    const w = await createPortalWorld(ctx);
    const user = await createPortalMember(ctx, w, { password: TEST_PASSWORD });
    await createApiToken(w, { userId: user.id, type: 'totp', secret: base32Encode(SEED) }, w.portal.resource.id);
    const agent = visitor(ctx.app);
    await enterLogin(agent, w.portal, user.login);
    assert.equal((await enterSecret(agent, w.portal, TEST_PASSWORD)).headers.location, `${w.portal.base}sign-in/second-factor`);
    const code = totpNow();
    const res = await whileRowLocked(user.id, () => enterSecondFactor(agent, w.portal, code));
    assert.equal(res.status, 503, res.text.slice(0, 300));
    assert.match(res.text, /temporarily unavailable/);
    assert.doesNotMatch(res.text, /at .*\.(ts|js):\d+|57014/);
    const retried = await enterSecondFactor(agent, w.portal, code);
    assert.equal(retried.headers.location, w.portal.base, 'the same code signs in once the database answers');
  });
});
