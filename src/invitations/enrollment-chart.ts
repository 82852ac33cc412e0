/**
 * Geometry of the console's "enrolments over time" chart: the template draws an SVG from these
 * numbers, so the page needs no client script and the chart prints. Pure: no database, no HTTP.
 */
import type { ChartPoint } from './enrollment-progress.service';

export const CHART_WIDTH = 600;
export const CHART_HEIGHT = 160;
/** Plot margins inside the SVG, shared with the authentication charts (src/audit/auth-chart.ts). */
export const PAD = { left: 40, right: 10, top: 10, bottom: 24 };

export interface ChartGeometry {
  width: number;
  height: number;
  /** `x,y x,y ...` of the cumulative line. */
  line: string;
  /** The area under the line, closed on the x axis. */
  area: string;
  /** The y axis goes from 0 to this (the members assigned, so the line shows progress to the goal). */
  yMax: number;
  axis: { left: number; right: number; top: number; bottom: number };
  first: string;
  last: string;
}

/** Null when there is nothing to draw (no member yet). */
export function chartGeometry(points: ChartPoint[], assigned: number): ChartGeometry | null {
  if (points.length === 0) return null;
  const yMax = Math.max(1, assigned, ...points.map((p) => p.enrolled));
  const left = PAD.left;
  const right = CHART_WIDTH - PAD.right;
  const top = PAD.top;
  const bottom = CHART_HEIGHT - PAD.bottom;
  // A single day still draws a flat segment across the chart.
  const step = points.length > 1 ? (right - left) / (points.length - 1) : 0;
  const xy = points.map((p, i) => {
    const x = points.length > 1 ? left + i * step : left;
    const y = bottom - (p.enrolled / yMax) * (bottom - top);
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  });
  if (xy.length === 1) xy.push([right, xy[0][1]]);
  const line = xy.map(([x, y]) => `${x},${y}`).join(' ');
  const area = `${xy[0][0]},${bottom} ${line} ${xy[xy.length - 1][0]},${bottom}`;
  return { width: CHART_WIDTH, height: CHART_HEIGHT, line, area, yMax, axis: { left, right, top, bottom }, first: points[0].day, last: points[points.length - 1].day };
}

/** "120 of 300 enrolled (40 %)": the progress bar's text equivalent, whole percent rounded down. */
export function progressText(enrolled: number, assigned: number): string {
  const percent = assigned === 0 ? 0 : Math.floor((enrolled * 100) / assigned);
  return `${enrolled} of ${assigned} enrolled (${percent} %)`;
}
