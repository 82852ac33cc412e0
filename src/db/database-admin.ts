/**
 * Whole-database housekeeping for the test setup and the benchmarks (never used by the service):
 * they connect to the server's `postgres` database to create or drop their own databases.
 */
import pg from 'pg';
import { createDb, migrate } from './knex';

function databaseName(url: string): string {
  const name = new URL(url).pathname.slice(1);
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name "${name}": use letters, digits and _ only`);
  return name;
}

async function withServer<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function migrateDatabase(url: string): Promise<void> {
  const db = createDb(url, 2);
  try {
    await migrate(db);
  } finally {
    await db.destroy();
  }
}

/** Creates the database if it does not exist yet, then applies migrations. */
export async function ensureDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  await withServer(url, async (client) => {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  });
  await migrateDatabase(url);
}

/** Drops the database (closing its connections) and creates it afresh, migrated. */
export async function recreateDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  await withServer(url, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  });
  await migrateDatabase(url);
}

/** Drops the database, closing its connections (tests that made a database of their own). */
export async function dropDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  await withServer(url, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
