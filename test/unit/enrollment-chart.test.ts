/** The enrolment chart's pure parts: the cumulative series and its SVG geometry (issue 12 §4). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chartGeometry, progressText } from '../../src/invitations/enrollment-chart';
import { cumulativeByDay } from '../../src/invitations/enrollment-progress.service';

describe('enrolment chart', () => {
  it('says the progress as "n of m enrolled (p %)", rounding down and 0 % for no member', () => {
    assert.equal(progressText(120, 300), '120 of 300 enrolled (40 %)');
    assert.equal(progressText(2, 3), '2 of 3 enrolled (66 %)');
    assert.equal(progressText(0, 0), '0 of 0 enrolled (0 %)');
  });

  it('covers 30 days at most, ending today (UTC), and never starts after today', () => {
    const now = new Date('2026-12-06T23:59:00Z');
    assert.equal(cumulativeByDay([], '2025-01-01', now).length, 30);
    assert.deepEqual(cumulativeByDay([{ day: '2026-12-06', count: 2 }], '2026-12-06', now), [{ day: '2026-12-06', enrolled: 2 }]);
    assert.deepEqual(cumulativeByDay([], '2026-12-07', now), [{ day: '2026-12-06', enrolled: 0 }]);
  });

  it('draws inside the plot area, scaled to the members assigned, and a single day as a flat line', () => {
    const g = chartGeometry([{ day: '2026-12-05', enrolled: 0 }, { day: '2026-12-06', enrolled: 5 }], 10)!;
    assert.equal(g.yMax, 10);
    const pts = g.line.split(' ').map((p) => p.split(',').map(Number));
    assert.deepEqual(pts[0], [g.axis.left, g.axis.bottom]);
    assert.deepEqual(pts[1], [g.axis.right, (g.axis.top + g.axis.bottom) / 2]);
    const one = chartGeometry([{ day: '2026-12-06', enrolled: 1 }], 0)!;
    assert.equal(one.yMax, 1);
    assert.deepEqual(one.line.split(' ').map((p) => Number(p.split(',')[1])), [one.axis.top, one.axis.top]);
    assert.equal(chartGeometry([], 5), null);
  });
});
