/**
 * Named rate limits over the shared counters. A limit is checked by counting the hit first, so
 * concurrent requests cannot slip past together. Fail closed (SEC-09): when the store cannot
 * answer, the caller gets an error, never a silent "allowed".
 */
import type { Db } from '../db/knex';
import { RateLimitedError } from '../lib/errors';
import { countHit, deleteCounter, type WindowCount } from './rate-limit.repository';

export interface Limit {
  /** Counter family, part of the key (e.g. `portal-ip`). */
  name: string;
  max: number;
  windowSeconds: number;
}

export const TOO_MANY_ATTEMPTS = 'Too many attempts. Wait a few minutes, then try again.';

export type RateLimiter = ReturnType<typeof createRateLimiter>;

export function createRateLimiter(db: Db) {
  return {
    /** Counts one hit for each (limit, subject) pair and returns the counts, in order, without judging them. */
    count(hits: Array<{ limit: Limit; subject: string }>): Promise<WindowCount[]> {
      return Promise.all(hits.map(({ limit, subject }) => countHit(db, `${limit.name}:${subject}`, limit.windowSeconds)));
    },

    /** Counts one hit for each (limit, subject) pair and throws RateLimitedError when any is over. */
    async consume(hits: Array<{ limit: Limit; subject: string }>): Promise<void> {
      const counts = await this.count(hits);
      const over = counts.findIndex((c, i) => c.hits > hits[i].limit.max);
      if (over !== -1) throw new RateLimitedError(TOO_MANY_ATTEMPTS);
    },

    /** Forgets a subject's count (an owner lifting a lock). */
    async reset(limit: Limit, subject: string): Promise<void> {
      await deleteCounter(db, `${limit.name}:${subject}`);
    },
  };
}
