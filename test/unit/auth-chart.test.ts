/** Issue 15 §12: the authentication charts' pure parts (buckets filled with zeros, bar geometry). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fillBuckets } from '../../src/audit/auth-stats.service';
import { barChart, hourLabel } from '../../src/audit/auth-chart';

describe('authentication charts', () => {
  it('fills 24 hourly buckets ending with the current hour, zeros where nothing happened', () => {
    const now = new Date('2026-12-06T14:35:00Z');
    const out = fillBuckets([{ at: '2026-12-06T14:00:00Z', successes: 2, failures: 1, locks: 0 }, { at: '2026-12-05T15:00:00Z', successes: 5, failures: 0, locks: 1 }], now, 3_600_000, 24);
    assert.equal(out.length, 24);
    assert.deepEqual(out[0], { at: '2026-12-05T15:00:00Z', successes: 5, failures: 0, locks: 1 });
    assert.deepEqual(out[23], { at: '2026-12-06T14:00:00Z', successes: 2, failures: 1, locks: 0 });
    assert.equal(out.slice(1, 23).every((b) => b.successes + b.failures + b.locks === 0), true);
  });

  it('fills 30 daily buckets ending today (UTC)', () => {
    const out = fillBuckets([], new Date('2026-12-06T23:59:00Z'), 86_400_000, 30);
    assert.equal(out[29].at, '2026-12-06T00:00:00Z');
    assert.equal(out[0].at, '2026-11-07T00:00:00Z');
  });

  it('draws bars inside the plot, the tallest at the top, and no bar for a zero', () => {
    const g = barChart([{ at: '2026-12-06T13:00:00Z', successes: 4, failures: 0, locks: 1 }, { at: '2026-12-06T14:00:00Z', successes: 2, failures: 1, locks: 0 }], hourLabel);
    assert.equal(g.yMax, 4);
    assert.equal(g.bars.length, 4);
    const top = g.bars.find((b) => b.value === 4)!;
    assert.equal(top.y, g.axis.top);
    for (const b of g.bars) {
      assert.ok(b.x >= g.axis.left && b.x + b.width <= g.axis.right, 'inside horizontally');
      assert.ok(Math.abs(b.y + b.height - g.axis.bottom) < 0.2, 'standing on the axis');
    }
    assert.deepEqual(g.ticks.map(([, t]) => t), ['13:00', '14:00']);
    assert.equal(barChart([], hourLabel).bars.length, 0);
  });
});
