/** Servers under test, each in its own Node process, started and stopped by the bench. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '../../test/helpers/wait';
import { procfileCommand } from '../../test/helpers/processes';

const live = new Set<ChildProcess>();
// A bench that stops for any reason takes its servers with it.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface ServerProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` (compiled .js, as the Procfile) or `node --import tsx <script>` (.ts) with `env` (plus PORT and HOST=127.0.0.1) and waits until
 * `ready(url)` resolves true. Output goes to the bench's stderr, prefixed with `name`.
 */
export async function startServer(name: string, script: string, env: Record<string, string | undefined>, ready: (url: string) => Promise<boolean>, cwd: string, nodeArgs: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...loader, script], {
    cwd,
    env: { ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = (chunk: Buffer) => process.stderr.write(String(chunk).replace(/^(?=.)/gm, `[${name}] `));
  child.stdout!.on('data', prefix);
  child.stderr!.on('data', prefix);
  live.add(child);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    live.delete(child);
    resolve();
  }));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`${name} exited before it was ready`);
    if (await ready(url).catch(() => false)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not ready within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Resident memory of a process now and at its peak (VmRSS, VmHWM of /proc/<pid>/status), in MB; Linux only. */
export function memoryOf(pid: number): { rss_mb: number; peak_rss_mb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss_mb: Math.round(kb('VmRSS') / 1024), peak_rss_mb: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return undefined;
  }
}

/**
 * Starts a Procfile role as the Procfile runs it (its node flags, then its script from dist/),
 * with `extraNodeArgs` (profiling flags) before them, so a bench measures what production runs.
 */
export function startProcfileRole(name: string, role: 'web' | 'worker', env: Record<string, string | undefined>, ready: (url: string) => Promise<boolean>, cwd: string, extraNodeArgs: string[] = []): Promise<ServerProcess> {
  const [, ...args] = procfileCommand(role);
  const script = args.pop()!;
  return startServer(name, script, env, ready, cwd, [...extraNodeArgs, ...args]);
}
