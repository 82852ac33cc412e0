import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimeoutError, waitUntilElapsed, withMinimumDuration, withTimeout } from '../../src/lib/timing';

describe('withMinimumDuration (SEC-22 padding)', () => {
  it('pads quick work up to the minimum, and passes results and errors through', async () => {
    let t = performance.now();
    assert.equal(await withMinimumDuration(60, async () => 'quick'), 'quick');
    assert.ok(performance.now() - t >= 59, 'quick work is padded');

    t = performance.now();
    await assert.rejects(withMinimumDuration(60, async () => { throw new Error('refused'); }), /refused/);
    assert.ok(performance.now() - t >= 59, 'a failure is padded too (no early answer)');
  });

  it('adds nothing to work that already took longer', async () => {
    const t = performance.now();
    await withMinimumDuration(5, () => new Promise((r) => setTimeout(r, 40)));
    const took = performance.now() - t;
    assert.ok(took >= 39, `the work itself (${took} ms)`);
  });

  it('waitUntilElapsed waits out the rest of the minimum since a start, and not at all once it has passed', async () => {
    const started = performance.now();
    await new Promise((r) => setTimeout(r, 20));
    await waitUntilElapsed(started, 60);
    assert.ok(performance.now() - started >= 60);
    const t = performance.now();
    await waitUntilElapsed(started, 10);
    assert.ok(performance.now() - t < 10, 'already past: no wait');
  });
});

describe('withTimeout (enqueue time box)', () => {
  it('passes a result or an error that comes in time', async () => {
    assert.equal(await withTimeout(1_000, 'quick', Promise.resolve('done')), 'done');
    await assert.rejects(withTimeout(1_000, 'failing', Promise.reject(new Error('refused'))), /refused/);
  });

  it('rejects with a TimeoutError naming the work once the time is up, and a late failure goes unhandled nowhere', async () => {
    let fail!: (err: Error) => void;
    const slow = new Promise<never>((_, reject) => (fail = reject));
    await assert.rejects(withTimeout(20, 'enqueueing x', slow), (err: Error) => err instanceof TimeoutError && /enqueueing x took over 20 ms/.test(err.message));
    // Would crash the test run as an unhandled rejection if withTimeout left it unobserved.
    fail(new Error('late'));
    await new Promise((r) => setTimeout(r, 10));
  });
});
