/**
 * express-session store on the `sessions` table, so every web process sees the same sessions.
 * Idle timeout is the cookie's maxAge, refreshed on activity (rolling); expired rows are ignored
 * on read and purged periodically.
 */
import session, { type SessionData } from 'express-session';
import type { Db } from '../db/knex';

export class PgSessionStore extends session.Store {
  constructor(private readonly db: Db, private readonly defaultTtlMs: number) {
    super();
  }

  private expiry(sess: SessionData): Date {
    const cookieExpiry = sess.cookie?.expires ? new Date(sess.cookie.expires) : undefined;
    return cookieExpiry ?? new Date(Date.now() + this.defaultTtlMs);
  }

  override get(sid: string, cb: (err: unknown, session?: SessionData | null) => void): void {
    this.db('sessions')
      .where({ sid })
      .andWhere('expires_at', '>', new Date())
      .first('data')
      .then((row) => cb(null, row ? (row.data as SessionData) : null), cb);
  }

  override set(sid: string, sess: SessionData, cb?: (err?: unknown) => void): void {
    this.db('sessions')
      .insert({ sid, data: JSON.stringify(sess), expires_at: this.expiry(sess) })
      .onConflict('sid')
      .merge()
      .then(() => cb?.(), (err) => cb?.(err));
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.db('sessions').where({ sid }).delete().then(() => cb?.(), (err) => cb?.(err));
  }

  override touch(sid: string, sess: SessionData, cb?: (err?: unknown) => void): void {
    this.db('sessions').where({ sid }).update({ expires_at: this.expiry(sess) }).then(() => cb?.(), (err) => cb?.(err));
  }

  /** Deletes expired sessions; run from a timer in the web process. */
  async purgeExpired(): Promise<number> {
    return this.db('sessions').where('expires_at', '<', new Date()).delete();
  }
}
