/**
 * Periodic sweeps that re-enqueue work whose job was lost (Redis down at enqueue time, a restarted
 * in-process queue). Deterministic job ids make a sweep harmless when nothing was lost. Both the
 * web and the worker process run them.
 */
import type { Services } from '../services';

const INTERVAL_MS = 60_000;

/** Starts the sweeps; returns a function that stops them (a shutdown step). */
export function startSweeps(services: Services): () => Promise<void> {
  const sweeps: Array<[string, () => Promise<number>]> = [
    ['message', () => services.messages.sweep()],
    ['token import', () => services.tokenImports.sweep()],
    ['user import', () => services.userImports.sweep()],
    // Also the schedule of invitation reminders (issue 12 §3), not only lost jobs.
    ['invitation reminder', () => services.invitations.sweep()],
    // The schedule of the hourly audit retention job (issue 14).
    ['audit retention', () => services.auditRetention.sweep()],
  ];
  const timer = setInterval(() => {
    for (const [name, sweep] of sweeps) {
      sweep().catch((err) => services.log.warn({ err: (err as Error).message }, `${name} sweep failed`));
    }
  }, INTERVAL_MS);
  timer.unref();
  return async () => clearInterval(timer);
}
