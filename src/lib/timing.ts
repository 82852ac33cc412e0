/**
 * Evens out response times that would otherwise tell apart who exists (SEC-22): a step whose
 * work differs by account (a code written and queued for one, nothing for another) is padded to
 * a fixed minimum duration. The padding is a timer, so it costs no CPU; it must be longer than
 * the slowest path's usual work to hide it.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function withMinimumDuration<T>(minimumMs: number, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    await waitUntilElapsed(started, minimumMs);
  }
}

/** Sleeps until `minimumMs` have passed since `started` (a performance.now() value); at once if they have. */
export async function waitUntilElapsed(started: number, minimumMs: number): Promise<void> {
  // Timers work in whole milliseconds of a cached loop clock and may fire a little early: sleep
  // again until the minimum has really passed.
  for (let left = minimumMs - (performance.now() - started); left > 0; left = minimumMs - (performance.now() - started)) {
    await sleep(Math.ceil(left));
  }
}
