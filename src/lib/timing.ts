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

export class TimeoutError extends Error {}

/**
 * Waits for `promise` at most `ms`, then rejects with a TimeoutError. The work itself goes on (a
 * Redis command stays queued in its client); its late failure is swallowed here, so the caller
 * must not depend on it having stopped.
 */
export async function withTimeout<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} took over ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
