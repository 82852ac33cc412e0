/**
 * As root, the embedded PostgreSQL runs as a separate system user (PostgreSQL refuses root). That
 * user must be able to enter every folder on the way to the PostgreSQL programs (under
 * node_modules) and to the data folder; in a folder only root may enter (such as /root, mode 700)
 * initdb failed with a bare `spawn … EACCES`. This finds such a folder before anything starts, so
 * the start can stop with a message that says what to do.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The first existing folder on the way to `target` that other users cannot enter (no x bit for others), or undefined. */
export function closedFolderOnTheWay(target: string): string | undefined {
  const chain: string[] = [];
  for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
    chain.unshift(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of chain) {
    const stat = fs.statSync(dir, { throwIfNoEntry: false });
    // A folder that does not exist yet is created with the default mode, which others may enter.
    if (!stat) return undefined;
    if (stat.isDirectory() && !(stat.mode & 0o001)) return dir;
  }
  return undefined;
}

/** Why the embedded PostgreSQL cannot run as root here, naming the folder and the ways out; undefined when it can. */
export function embeddedAccessProblem(places: Array<{ what: string; path: string }>): string | undefined {
  for (const place of places) {
    const closed = closedFolderOnTheWay(place.path);
    if (!closed) continue;
    return [
      `Cannot start the embedded PostgreSQL as root: it runs as a separate system user, which cannot enter ${closed} (on the way to ${place.what}, ${place.path}).`,
      'Do one of these:',
      '  - run npm start as a normal user;',
      `  - put the project in a folder other users may enter (e.g. /srv/mfa), or set EMBEDDED_PG_DIR to one, if only the data folder is the problem;`,
      `  - let others enter the folder: chmod o+x ${closed} (only if that is acceptable for what it holds);`,
      '  - or set DATABASE_URL to a PostgreSQL server of your own.',
    ].join('\n');
  }
  return undefined;
}
