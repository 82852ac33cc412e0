import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createTestContext, type TestContext } from '../helpers/context';
import { unique } from '../helpers/factories';
import { createRateLimiter, type Limit } from '../../src/rate-limits/rate-limiter';
import { createDb } from '../../src/db/knex';
import { testDatabaseUrl } from '../helpers/env';
import { RateLimitedError } from '../../src/lib/errors';

describe('shared rate limits (SEC-07, SEC-09)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const limit = (max: number): Limit => ({ name: unique('test-limit'), max, windowSeconds: 600 });
  const outcome = (p: Promise<void>) => p.then(() => 'ok', (err) => (err instanceof RateLimitedError ? 'limited' : 'error'));

  it('SEC-07 of 40 concurrent hits against a limit of 10, exactly 10 pass, counted through two separate pools', async () => {
    const l = limit(10);
    const otherProcess = createDb(testDatabaseUrl(), 5);
    try {
      const limiters = [createRateLimiter(ctx.services.db), createRateLimiter(otherProcess)];
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => outcome(limiters[i % 2].consume([{ limit: l, subject: 'x' }]))));
      assert.equal(results.filter((r) => r === 'ok').length, 10);
      assert.equal(results.filter((r) => r === 'limited').length, 30);
    } finally {
      await otherProcess.destroy();
    }
  });

  it('a new window starts after the old one ends; subjects and limits count apart', async () => {
    const l = limit(2);
    const limiter = createRateLimiter(ctx.services.db);
    const hit = (subject: string) => outcome(limiter.consume([{ limit: l, subject }]));
    assert.deepEqual([await hit('a'), await hit('a'), await hit('a'), await hit('b')], ['ok', 'ok', 'limited', 'ok']);
    const key = createHash('sha256').update(`${l.name}:a`).digest('hex');
    await ctx.services.db('rate_limits').where({ key }).update({ window_started_at: ctx.services.db.raw("now() - interval '601 seconds'") });
    assert.equal(await hit('a'), 'ok');
    assert.equal((await ctx.services.db('rate_limits').where({ key }).first()).hits, 1);
    assert.equal((await ctx.services.db('rate_limits').where('key', 'like', '%a%').andWhere('key', '=', `${l.name}:a`)).length, 0, 'keys are stored as digests, not as typed');
  });

  it('SEC-09 fails closed: when the store cannot answer, the hit is an error, never a pass', async () => {
    const broken = createDb(testDatabaseUrl(), 1);
    await broken.destroy();
    const result = await outcome(createRateLimiter(broken).consume([{ limit: limit(100), subject: 'x' }]));
    assert.equal(result, 'error');
  });
});
