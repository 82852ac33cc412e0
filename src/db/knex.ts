/** Builds the knex instance and runs migrations. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../lib/logger';
import { COMPILED } from '../lib/project-root';
import { migrationFiles } from './migration-source';

export type Db = Knex;
export type Trx = Knex.Transaction;
/** Anything that can run a query: the pool or an open transaction. */
export type Queryable = Knex | Knex.Transaction;

// BIGINT columns (counters, steps, audit ids) fit in a JS number for our ranges.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

/** migrations/ beside src/: the sources, or their compiled copies in dist/migrations. */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export function createDb(connectionString: string, poolMax = 10, log?: Logger): Db {
  return knexFactory({
    client: 'pg',
    connection: connectionString,
    pool: { min: 0, max: poolMax },
    // Knex's own warnings (one per refused connection during an outage) become one-line JSON log
    // entries instead of multi-line console text with a stack.
    ...(log ? { log: knexLog(log) } : {}),
    migrations: { migrationSource: migrationFiles(MIGRATIONS_DIR, COMPILED ? '.js' : '.ts'), tableName: 'knex_migrations' },
  });
}

function knexLog(log: Logger) {
  const firstLine = (message: unknown) => String(message).split('\n')[0];
  return {
    warn: (message: unknown) => log.warn({ knex: firstLine(message) }, 'database driver warning'),
    error: (message: unknown) => log.error({ knex: firstLine(message) }, 'database driver error'),
    deprecate: (message: unknown) => log.warn({ knex: firstLine(message) }, 'database driver deprecation'),
    debug: (message: unknown) => log.debug({ knex: firstLine(message) }, 'database driver debug'),
  };
}

/** Applies pending migrations. Knex's migration lock makes concurrent starts safe. */
export async function migrate(db: Db): Promise<string[]> {
  const [, applied] = await db.migrate.latest();
  return applied as string[];
}

/**
 * Runs one named prepared statement straight on a pooled pg connection, skipping knex's query
 * builder and runner: for the few statements on the validation hot path (SPEC §8), where that
 * layer was a measurable share of each check. `text` uses $1..$n placeholders.
 */
export async function runPrepared<R>(db: Db, name: string, text: string, values: unknown[]): Promise<R[]> {
  // Announced like every knex query, so whatever watches the statements (the plan test, debug
  // logging) sees these too; with no listener it costs an empty emit per batch.
  db.client.emit('query', { sql: text, bindings: values, method: 'raw', name });
  const connection: pg.PoolClient = await db.client.acquireConnection();
  try {
    return (await connection.query<R & pg.QueryResultRow>({ name, text, values })).rows;
  } finally {
    await db.client.releaseConnection(connection);
  }
}

/**
 * Waits until no query holds or waits for a pool connection (up to `timeoutMs`), for shutdown:
 * knex's destroy() aborts the callers still waiting for a connection, which would fail requests
 * that are still being answered after their client went away (the HTTP drain ends when the
 * sockets close, not when the handlers finish).
 */
export async function settlePool(db: Db, timeoutMs: number): Promise<void> {
  const pool = (db.client as { pool?: { numUsed(): number; numPendingAcquires(): number } }).pool;
  const deadline = Date.now() + timeoutMs;
  while (pool && pool.numUsed() + pool.numPendingAcquires() > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
