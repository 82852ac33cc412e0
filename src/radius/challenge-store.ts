/**
 * Open challenges (challenge mode): the `State` sent with an Access-Challenge, kept in this
 * process's memory only. A State is random (16 bytes), works once, only for the client and user
 * it was issued to, and expires. Behind a load balancer, the request that answers a challenge
 * must reach the connector that issued it (source-address affinity); elsewhere it is unknown and
 * rejected, and the user starts again.
 */
import { randomBytes } from 'node:crypto';

interface OpenChallenge {
  client: string;
  login: string;
  expiresAt: number;
}

export type ChallengeStore = ReturnType<typeof createChallengeStore>;

export function createChallengeStore(lifeMs: number, maxOpen = 100_000) {
  const open = new Map<string, OpenChallenge>();
  // States whose check is under way: back to `open` only if it gets no verdict.
  const taken = new Map<string, OpenChallenge>();

  function sweep(now: number) {
    for (const [state, c] of open) if (c.expiresAt <= now) open.delete(state);
  }

  return {
    /** A new State for this client and user; undefined when too many are open (a flood). */
    issue(client: string, login: string, now = Date.now()): Buffer | undefined {
      if (open.size >= maxOpen) sweep(now);
      if (open.size >= maxOpen) return undefined;
      const state = randomBytes(16);
      open.set(state.toString('hex'), { client, login, expiresAt: now + lifeMs });
      return state;
    },

    /**
     * Consumes the State when it is open, unexpired and was issued to this client and user.
     * A State presented by another client or for another user is refused and left alone, so a
     * foreign request cannot cancel a real user's challenge.
     */
    take(state: Buffer, client: string, login: string, now = Date.now()): boolean {
      const key = state.toString('hex');
      const c = open.get(key);
      if (!c) return false;
      if (c.expiresAt <= now) {
        open.delete(key);
        return false;
      }
      if (c.client !== client || c.login.toLowerCase() !== login.toLowerCase()) return false;
      open.delete(key);
      taken.set(key, c);
      return true;
    },

    /**
     * Puts back a State taken by a request that got no verdict (the service was unreachable), so
     * the NAS's retry of that request can still use it. Until then it is not open: a State is
     * never in two checks at once.
     */
    reopen(state: Buffer): void {
      const key = state.toString('hex');
      const c = taken.get(key);
      taken.delete(key);
      if (c) open.set(key, c);
    },

    /** Forgets a taken State for good (its check got a verdict). */
    done(state: Buffer): void {
      taken.delete(state.toString('hex'));
    },

    sweep,
    size: () => open.size,
  };
}
