/** Runs the operator CLI (`src/cli.ts`) in a child process, as an operator would. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testDatabaseUrl } from './env';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node --import tsx src/cli.ts ...args` against the test database (or `env.DATABASE_URL`).
 * Jobs run in-process and emails are captured: the CLI needs nothing but the database here.
 */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const childEnv: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'test', DATABASE_URL: testDatabaseUrl(), LOG_LEVEL: 'silent', ...env };
  delete childEnv.REDIS_URL;
  delete childEnv.SMTP_URL;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI prints its machine-readable result as the last line of stdout. */
export const lastLine = (text: string) => text.trim().split('\n').at(-1)!;
