/**
 * Throwaway servers for the fault tests, which kill and restart them: never the machine's shared
 * Redis or PostgreSQL. Each runs as a registered child (see processes.ts), so killAllChildren() in
 * an `after` hook ends them whatever happened; PostgreSQL also gets `pg_ctl stop` and its data
 * directory removed by stop().
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';
import { spawnChild, type Child } from './processes';
import { freePort, waitUntil } from './wait';
import { testDatabaseUrl } from './env';
import { dropDatabase, recreateDatabase } from '../../src/db/database-admin';

const run = promisify(execFile);

/** True once something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

export interface RedisServer {
  url: string;
  port: number;
  /** SIGKILL: no shutdown, no save. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence). */
  start(): Promise<void>;
}

const REDIS_SERVER = existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server';

/** A redis-server without persistence on a free port, like a Redis whose data is lost in a crash. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: Child | undefined;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      if (!child?.running()) return;
      child.proc.kill('SIGKILL');
      await child.exited;
    },
    async start() {
      child = spawnChild(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
      const started = child;
      await waitUntil(
        async () => {
          if (!started.running()) throw new Error(`redis-server exited:\n${started.output()}`);
          return listening(port);
        },
        10_000,
        'redis-server to listen',
      );
    },
  };
  await server.start();
  return server;
}

export interface OwnDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database on the test server, named after the test database: the fault tests
 * sweep every queued message, which must not take other test files' messages.
 */
export async function createOwnDatabase(suffix: string): Promise<OwnDatabase> {
  const url = new URL(testDatabaseUrl());
  url.pathname = `${url.pathname}_${suffix}`;
  await recreateDatabase(url.toString());
  return { url: url.toString(), drop: () => dropDatabase(url.toString()) };
}

const PG_BIN = (() => {
  const base = '/usr/lib/postgresql';
  const version = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  return version ? path.join(base, version, 'bin') : '';
})();

/** PostgreSQL's tools refuse to run as root: run them as the `postgres` OS user then. */
function asPostgres(tool: string, args: string[]): [string, string[]] {
  const command = path.join(PG_BIN, tool);
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

export interface PostgresServer {
  /** URL of the database `mfa` on it. */
  url: string;
  /** pg_ctl restart -m fast: every connection is cut, the server is back once this resolves. */
  restart(): Promise<void>;
  /** Stops it and removes its data directory. */
  stop(): Promise<void>;
}

export const postgresAvailable = (): boolean => existsSync(path.join(PG_BIN, 'initdb'));

/** A PostgreSQL server of its own (initdb in a temp dir, a free port) with an empty database `mfa`. */
export async function startPostgres(): Promise<PostgresServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'mfa-pg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pgctl = (...args: string[]) => run(...asPostgres('pg_ctl', ['-D', data, ...args]));
  await run(...asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']));
  // fsync off: a test server, restarted with -m fast (a clean shutdown), never crashed.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  await pgctl('-o', options, '-l', path.join(dir, 'log'), '-w', 'start');
  const server: PostgresServer = {
    url: `postgres://postgres@127.0.0.1:${port}/mfa`,
    async restart() {
      await pgctl('-o', options, '-l', path.join(dir, 'log'), '-m', 'fast', '-w', 'restart');
    },
    async stop() {
      await pgctl('-m', 'immediate', 'stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await client.connect();
    await client.query('CREATE DATABASE mfa');
    await client.end();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
