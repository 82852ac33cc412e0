/**
 * A PostgreSQL server of the test's own, on a free port in a temporary directory, that the test
 * may stop and start (the machine's shared server is never touched). Run as the `postgres` user
 * when the tests run as root, since PostgreSQL refuses to run as root.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, chown } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** PG_BIN_DIR, or the newest server installed from the Debian packages (what CI installs). */
function binDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('no PostgreSQL server binaries (initdb) found: set PG_BIN_DIR');
  return path.join(root, newest, 'bin');
}

export interface OwnPostgres {
  url: string;
  start(): Promise<void>;
  /** Fast shutdown: open connections are terminated (57P01), new ones refused. */
  stop(): Promise<void>;
  /** pg_ctl restart -m fast: every connection is cut, the server is back once this resolves. */
  restart(): Promise<void>;
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mfa-own-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const BIN = binDir();
  const pgRun = (bin: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(BIN, bin), ...args]) : run(path.join(BIN, bin), args));
  const data = path.join(dir, 'data');
  const port = await freePort();
  await pgRun('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  // fsync off: a test server, stopped cleanly (-m fast), never crashed.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const own: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: async () => {
      await pgRun('pg_ctl', ['-D', data, '-w', '-l', path.join(dir, 'log'), '-o', options, 'start']);
    },
    stop: async () => {
      await pgRun('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);
    },
    restart: async () => {
      await pgRun('pg_ctl', ['-D', data, '-w', '-l', path.join(dir, 'log'), '-o', options, '-m', 'fast', 'restart']);
    },
    destroy: async () => {
      await own.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}
