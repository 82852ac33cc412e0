import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBatcher } from '../../src/lib/batcher';

describe('batcher', () => {
  it('sends a lone item at once and groups the items that arrive while a batch runs', async () => {
    const batches: number[][] = [];
    const run = createBatcher(async (items: number[]) => {
      batches.push(items);
      await new Promise((r) => setTimeout(r, 5));
      return items.map((n) => n * 2);
    }, { maxBatch: 10, maxInFlight: 1 });
    assert.deepEqual(await Promise.all([1, 2, 3, 4].map(run)), [2, 4, 6, 8]);
    assert.deepEqual(batches, [[1], [2, 3, 4]]);
  });

  it('never puts two items with the same key in one batch, and respects maxBatch', async () => {
    const batches: string[][] = [];
    const run = createBatcher(async (items: string[]) => {
      batches.push(items);
      await new Promise((r) => setTimeout(r, 1));
      return items;
    }, { maxBatch: 2, maxInFlight: 1, keyOf: (s) => s[0] });
    await Promise.all(['a1', 'a2', 'b1', 'a3', 'c1'].map(run));
    for (const batch of batches) {
      assert.ok(batch.length <= 2);
      assert.equal(new Set(batch.map((s) => s[0])).size, batch.length, JSON.stringify(batches));
    }
    assert.deepEqual(batches.flat().sort(), ['a1', 'a2', 'a3', 'b1', 'c1']);
  });

  it('rejects every item of a failed batch and goes on with the next', async () => {
    let calls = 0;
    const run = createBatcher(async (items: number[]) => {
      calls++;
      if (calls === 2) throw new Error('database down');
      await new Promise((r) => setTimeout(r, 2));
      return items;
    }, { maxBatch: 10, maxInFlight: 1 });
    const results = await Promise.allSettled([1, 2, 3].map(run));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected']);
    assert.equal(await run(4), 4);
  });

  it('sends the next batch before the callers of the last one resume', async () => {
    const events: string[] = [];
    const run = createBatcher(async (items: number[]) => {
      events.push(`start ${items.join(',')}`);
      await new Promise((r) => setTimeout(r, 2));
      return items;
    }, { maxBatch: 10, maxInFlight: 1 });
    await Promise.all([1, 2, 3].map((n) => run(n).then(() => events.push(`resumed ${n}`))));
    assert.deepEqual(events, ['start 1', 'start 2,3', 'resumed 1', 'resumed 2', 'resumed 3']);
  });

  it('rejects every item when a batch returns the wrong number of results, and a synchronous throw too', async () => {
    const short = createBatcher(async (items: number[]) => items.slice(1), { maxBatch: 10, maxInFlight: 1 });
    await assert.rejects(short(1), /returned 0 results for 1 items/);
    const throwing = createBatcher((): Promise<number[]> => {
      throw new Error('cannot start');
    }, { maxBatch: 10, maxInFlight: 1 });
    await assert.rejects(throwing(1), /cannot start/);
    await assert.rejects(throwing(2), /cannot start/);
  });
});
