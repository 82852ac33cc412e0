/**
 * The zero-setup start (SPEC §7): with no DATABASE_URL and no REDIS_URL, the web process runs an
 * embedded PostgreSQL with data in its own folder, applies migrations and serves the console
 * within 60 s; SIGTERM stops it and its database cleanly.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitUntil } from '../helpers/wait';

describe('npm start with no configuration', () => {
  let child: ChildProcess | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfa-embedded-'));
  // As root, the embedded server runs as a dedicated system user, which must reach the folder.
  fs.chmodSync(dataDir, 0o755);

  after(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the console on an embedded PostgreSQL within 60 s and shuts down cleanly', async () => {
    const [port, pgPort] = [await freePort(), await freePort()];
    const env: Record<string, string | undefined> = { ...process.env, PORT: String(port), EMBEDDED_PG_DIR: path.join(dataDir, 'pg'), EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info' };
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'NODE_ENV', 'BASE_URL']) delete env[name];
    const started = Date.now();
    child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));

    const page = await waitUntil(
      async () => {
        if (child!.exitCode !== null) throw new Error(`server exited early:\n${output}`);
        const res = await fetch(`http://127.0.0.1:${port}/admin/sign-in`).catch(() => undefined);
        return res?.status === 200 ? res.text() : undefined;
      },
      60_000,
      'the console sign-in page',
    );
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < 60, `ready after ${seconds} s`);
    assert.match(page, /Sign in/);
    assert.match(output, /embedded PostgreSQL/);
    assert.match(output, /background jobs run inside this process/);
    assert.ok(fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION')), 'data lives in EMBEDDED_PG_DIR');
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);

    const exit = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0, output.slice(-2000));
  });

  it('as root with the data in a folder only root may enter, stops with a message saying what to do (no bare EACCES)', async () => {
    // The check is about root: a normal user runs PostgreSQL as themselves and has no such problem.
    if (process.getuid?.() !== 0) return;
    const privateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfa-private-'));
    fs.chmodSync(privateDir, 0o700);
    try {
      const env: Record<string, string | undefined> = { ...process.env, PORT: String(await freePort()), EMBEDDED_PG_DIR: path.join(privateDir, 'pg'), LOG_LEVEL: 'warn' };
      for (const name of ['DATABASE_URL', 'REDIS_URL', 'SMTP_URL', 'NODE_ENV', 'BASE_URL']) delete env[name];
      const refused = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      refused.stdout!.on('data', (d) => (output += d));
      refused.stderr!.on('data', (d) => (output += d));
      const [code] = await once(refused, 'close');
      assert.equal(code, 1, output);
      assert.match(output, new RegExp(`cannot enter ${privateDir.replaceAll('/', '\\/')}`));
      assert.match(output, /run npm start as a normal user/);
      assert.doesNotMatch(output, /EACCES|\n\s+at /, 'no bare error, no stack trace');
      assert.ok(!fs.existsSync(path.join(privateDir, 'pg')), 'nothing was started or written');
    } finally {
      fs.rmSync(privateDir, { recursive: true, force: true });
    }
  });
});
