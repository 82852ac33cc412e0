/**
 * Fixed-window hit counters in PostgreSQL: one atomic upsert per hit, so every web process (and a
 * restart) sees the same counts (SEC-07, SEC-25). Keys are stored as SHA-256 digests: they carry
 * logins and IP addresses, which this table has no reason to keep readable.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../db/knex';

export interface WindowCount {
  hits: number;
  /** Seconds until the window restarts. */
  resetsInSeconds: number;
}

const digestOf = (key: string) => createHash('sha256').update(key).digest('hex');

export async function countHit(q: Queryable, key: string, windowSeconds: number): Promise<WindowCount> {
  const digest = digestOf(key);
  const result = await q.raw(
    `INSERT INTO rate_limits AS r (key, window_started_at, hits) VALUES (?, now(), 1)
     ON CONFLICT (key) DO UPDATE SET
       hits = CASE WHEN r.window_started_at <= now() - make_interval(secs => ?) THEN 1 ELSE r.hits + 1 END,
       window_started_at = CASE WHEN r.window_started_at <= now() - make_interval(secs => ?) THEN now() ELSE r.window_started_at END
     RETURNING hits, ceil(extract(epoch FROM r.window_started_at + make_interval(secs => ?) - now()))::int AS resets_in`,
    [digest, windowSeconds, windowSeconds, windowSeconds],
  );
  const row = result.rows[0];
  return { hits: row.hits, resetsInSeconds: Math.max(1, row.resets_in) };
}

export async function deleteCounter(q: Queryable, key: string): Promise<void> {
  await q('rate_limits').where({ key: digestOf(key) }).delete();
}

/** Drops counters whose window ended long ago (run from a timer). */
export async function purgeOldWindows(q: Queryable, olderThanSeconds = 86_400): Promise<number> {
  return q('rate_limits').where('window_started_at', '<', q.raw('now() - make_interval(secs => ?)', [olderThanSeconds])).delete();
}
