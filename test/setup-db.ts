/** Runs once before the suite: creates the test database if needed and applies migrations. */
import pg from 'pg';
import { createDb, migrate } from '../src/db/knex';
import { testDatabaseUrl } from './helpers/env';

const url = new URL(testDatabaseUrl());
const name = url.pathname.slice(1);
const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
await admin.connect();
const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
await admin.end();
const db = createDb(url.toString(), 2);
await migrate(db);
await db.destroy();
console.log(`test database ${name} is ready`);
