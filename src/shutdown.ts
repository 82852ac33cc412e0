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
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
