/**
 * Knex migrations from migrations/*.ts (tsx) or dist/migrations/*.js (`npm run build`). Knex
 * records each applied migration by name; the name is always the source file's (`….ts`), so a
 * database migrated by one way of running is up to date for the other.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';

export function migrationFiles(directory: string, extension: '.ts' | '.js'): Knex.MigrationSource<string> {
  return {
    async getMigrations() {
      const files = await readdir(directory);
      return files.filter((f) => f.endsWith(extension) && !f.endsWith('.d.ts')).sort();
    },
    getMigrationName(file) {
      return file.slice(0, -extension.length) + '.ts';
    },
    async getMigration(file) {
      return import(pathToFileURL(path.join(directory, file)).href);
    },
  };
}
