/** Runs once before the suite: creates the test database if needed and applies migrations. */
import { ensureDatabase } from '../src/db/database-admin';
import { testDatabaseUrl } from './helpers/env';

await ensureDatabase(testDatabaseUrl());
console.log(`test database ${new URL(testDatabaseUrl()).pathname.slice(1)} is ready`);
