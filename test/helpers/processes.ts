/**
 * Child processes for the process and fault tests: the service's own roles as the Procfile runs
 * them, and throwaway Redis / PostgreSQL servers. Every child is registered so that a test file's
 * `after` hook can kill whatever is still running, even when a test failed half-way.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { waitUntil } from './wait';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface Child {
  proc: ChildProcess;
  /** Everything the process printed, for failure messages. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  running(): boolean;
}

const children = new Set<Child>();

export function spawnChild(command: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  const child: Child = { proc, output: () => output, exited, running: () => proc.exitCode === null && proc.signalCode === null };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/**
 * The argv of a Procfile role, which must start with `node` so the process a supervisor signals is
 * the service itself (npm or tsx in between would receive SIGTERM instead of the service).
 */
export function procfileCommand(role: 'web' | 'worker' | 'release' | 'radius'): string[] {
  const line = readFileSync(path.join(ROOT, 'Procfile'), 'utf8').split('\n').find((l) => l.startsWith(`${role}:`));
  if (!line) throw new Error(`no ${role} role in the Procfile`);
  return line.slice(role.length + 1).trim().split(/\s+/);
}

/** Newest modification time of the TypeScript files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * The Procfile runs the build (dist/). `npm test` builds first; a test file run alone builds here
 * when dist/ is missing or older than a source, so it never tests stale code.
 */
export function ensureBuilt(): void {
  const stamp = path.join(ROOT, 'dist', '.built');
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  if (['src', 'workers', 'migrations'].some((dir) => newestSource(path.join(ROOT, dir)) > built)) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'ignore' });
  }
}

/** Starts a Procfile role the way a supervisor would, but with this test's node binary. */
export function spawnRole(role: 'web' | 'worker' | 'radius', env: Record<string, string>): Child {
  ensureBuilt();
  const [command, ...args] = procfileCommand(role);
  if (command !== 'node') throw new Error(`the Procfile's ${role} role must run node directly, not ${command}`);
  return spawnChild(process.execPath, args, env);
}

/** SIGTERM, then the exit code and how long the exit took; throws if it takes over timeoutMs. */
export async function terminate(child: Child, timeoutMs: number): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  if (!child.running()) return { code: child.proc.exitCode, ms: 0 };
  child.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms after SIGTERM:\n${child.output()}`)), timeoutMs);
  });
  try {
    const code = await Promise.race([child.exited, late]);
    return { code, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** For `after` hooks: SIGKILL every child still running (services, Redis, PostgreSQL). */
export async function killAllChildren(): Promise<void> {
  const running = [...children].filter((c) => c.running());
  for (const child of running) child.proc.kill('SIGKILL');
  await Promise.all(running.map((c) => c.exited));
}

/** Waits until the child answers GET /healthz on `port`; fails at once, with its output, if it exits. */
export async function waitForHealthy(child: Child, port: number, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    async () => {
      if (!child.running()) throw new Error(`the process exited:\n${child.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok;
    },
    timeoutMs,
    `the process to answer /healthz on port ${port}`,
  );
}
