/**
 * Timing comparisons for SEC-22 tests: each kind of request is timed many times, interleaved in a
 * rotating order (so load on the machine hits every kind alike), and the medians are compared,
 * never single samples. A burst of load from other processes can still move one median for a
 * whole measurement, so a comparison that misses is measured again, up to `attempts` times: a real
 * split shows in every measurement and still fails; passing noise does not.
 */
import assert from 'node:assert/strict';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** See TimingOptions.toleranceMs. */
const RELATIVE_TOLERANCE = 0.02;

export interface TimingOptions {
  /** Timed rounds (each runs every kind once), after 3 untimed warm-up rounds. */
  rounds: number;
  /**
   * How far apart the slowest and fastest medians may be. On a loaded machine every request takes
   * longer and its noise grows with it, so the bound is at least 2 % of the fastest median (a
   * skipped password hash or database read is tens of ms at any load and still fails).
   */
  toleranceMs: number;
  /** Whole measurements to try before failing. */
  attempts?: number;
  /** Runs before each timed call, outside the timing (e.g. to keep a user under a limit). */
  before?: () => Promise<void>;
}

/** Each kind's median duration in ms over `rounds` interleaved rounds. */
export async function medians(kinds: Record<string, () => Promise<unknown>>, options: Pick<TimingOptions, 'rounds' | 'before'>): Promise<Record<string, number>> {
  const names = Object.keys(kinds);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < options.rounds + 3; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length];
      await options.before?.();
      const started = performance.now();
      await kinds[name]();
      if (round >= 3) samples[name].push(performance.now() - started);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

/** Asserts the kinds' medians lie within the tolerance of each other (see the module comment). */
export async function assertSimilarTiming(kinds: Record<string, () => Promise<unknown>>, options: TimingOptions): Promise<void> {
  const attempts = options.attempts ?? 3;
  const seen: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const m = await medians(kinds, options);
    const values = Object.values(m);
    const spread = Math.max(...values) - Math.min(...values);
    const tolerance = Math.max(options.toleranceMs, RELATIVE_TOLERANCE * Math.min(...values));
    seen.push(`${Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')} (spread ${spread.toFixed(1)} ms, allowed ${tolerance.toFixed(1)} ms)`);
    if (spread <= tolerance) return;
  }
  assert.fail(`medians differ by more than allowed in each of ${attempts} measurements:\n${seen.join('\n')}`);
}
