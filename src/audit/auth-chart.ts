/**
 * Geometry of the per-resource authentication charts (issue 15 §12): grouped bars of successes,
 * failures and locks per bucket, drawn by the template as SVG (no client chart library). Same
 * canvas and margins as the enrolment chart. Pure.
 */
import { CHART_HEIGHT, CHART_WIDTH, PAD } from '../invitations/enrollment-chart';
import type { AuthCounts } from './auth-stats.repository';

export const SERIES = [
  ['successes', 'Successes'],
  ['failures', 'Failures'],
  ['locks', 'Locks'],
] as const;

export interface Bar { x: number; y: number; width: number; height: number; series: (typeof SERIES)[number][0]; value: number }

export interface BarChart {
  width: number;
  height: number;
  yMax: number;
  bars: Bar[];
  axis: { left: number; right: number; top: number; bottom: number };
  /** Labels under the x axis: [x, text], about six of them. */
  ticks: Array<[number, string]>;
}

/** `label(at)` names a bucket under the axis. Zero bars are left out (nothing to draw). */
export function barChart(buckets: AuthCounts[], label: (at: string) => string): BarChart {
  const left = PAD.left;
  const right = CHART_WIDTH - PAD.right;
  const top = PAD.top;
  const bottom = CHART_HEIGHT - PAD.bottom;
  const yMax = Math.max(1, ...buckets.flatMap((b) => [b.successes, b.failures, b.locks]));
  const slot = buckets.length ? (right - left) / buckets.length : 0;
  const barWidth = Math.max(1, Math.round(((slot * 0.8) / SERIES.length) * 10) / 10);
  const bars: Bar[] = [];
  const ticks: Array<[number, string]> = [];
  const every = Math.max(1, Math.ceil(buckets.length / 6));
  buckets.forEach((b, i) => {
    const x0 = left + i * slot + slot * 0.1;
    SERIES.forEach(([series], j) => {
      const value = b[series];
      if (!value) return;
      const height = Math.round(((value / yMax) * (bottom - top)) * 10) / 10;
      bars.push({ x: Math.round((x0 + j * barWidth) * 10) / 10, y: Math.round((bottom - height) * 10) / 10, width: barWidth, height, series, value });
    });
    if (i % every === 0) ticks.push([Math.round((left + i * slot + slot / 2) * 10) / 10, label(b.at)]);
  });
  return { width: CHART_WIDTH, height: CHART_HEIGHT, yMax, bars, axis: { left, right, top, bottom }, ticks };
}

/** '2026-12-06T14:00:00Z' → '14:00'; a day → '12-06'. */
export const hourLabel = (at: string) => at.slice(11, 16);
export const dayLabel = (at: string) => at.slice(5, 10);
