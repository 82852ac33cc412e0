/**
 * Throwaway servers for the fault tests, which kill and restart them: never the machine's shared
 * Redis or PostgreSQL. Each runs as a registered child (see processes.ts), so killAllChildren() in
 * an `after` hook ends them whatever happened. A PostgreSQL of a test's own is in own-postgres.ts.
 */
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { spawnChild, type Child } from './processes';
import { freePort, waitUntil } from './wait';
import { testDatabaseUrl } from './env';
import { dropDatabase, recreateDatabase } from '../../src/db/database-admin';

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
