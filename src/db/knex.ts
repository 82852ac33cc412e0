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
