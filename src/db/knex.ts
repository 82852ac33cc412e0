/** Builds the knex instance and runs migrations. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

export type Db = Knex;
export type Trx = Knex.Transaction;
/** Anything that can run a query: the pool or an open transaction. */
export type Queryable = Knex | Knex.Transaction;

// BIGINT columns (counters, steps, audit ids) fit in a JS number for our ranges.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export function createDb(connectionString: string, poolMax = 10): Db {
  return knexFactory({
    client: 'pg',
    connection: connectionString,
    pool: { min: 0, max: poolMax },
    migrations: { directory: MIGRATIONS_DIR, loadExtensions: ['.ts'], tableName: 'knex_migrations' },
  });
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
  const connection: pg.PoolClient = await db.client.acquireConnection();
  try {
    return (await connection.query<R & pg.QueryResultRow>({ name, text, values })).rows;
  } finally {
    await db.client.releaseConnection(connection);
  }
}
