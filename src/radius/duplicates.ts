/**
 * Duplicate detection (RFC 5080 §2.2.2): a NAS that hears nothing retransmits the same request
 * (same source address and port, identifier and Request Authenticator). A retransmission must get
 * the same answer without a second check, or a retry would burn the code or count a failure twice.
 * The first request's answer (a promise, so a retry that arrives while the API call is still
 * running waits for it) is kept a few seconds.
 */
export type Answer = Buffer | null;

interface Entry {
  authenticator: string;
  answer: Promise<Answer>;
  expiresAt: number;
}

export type DuplicateCache = ReturnType<typeof createDuplicateCache>;

export function createDuplicateCache(lifeMs: number) {
  const entries = new Map<string, Entry>();

  return {
    /**
     * The answer of an earlier identical request, or undefined after `start` registered this one
     * (call it with the promise of the answer).
     */
    lookup(source: string, identifier: number, authenticator: Buffer, now = Date.now()): Promise<Answer> | undefined {
      const e = entries.get(`${source}/${identifier}`);
      if (!e || e.expiresAt <= now || e.authenticator !== authenticator.toString('hex')) return undefined;
      return e.answer;
    },

    start(source: string, identifier: number, authenticator: Buffer, answer: Promise<Answer>, now = Date.now()): void {
      const key = `${source}/${identifier}`;
      entries.set(key, { authenticator: authenticator.toString('hex'), answer, expiresAt: now + lifeMs });
      // No answer (the service was unreachable): a retry should try again, not wait on nothing.
      void answer.then((a) => {
        if (a === null && entries.get(key)?.answer === answer) entries.delete(key);
      });
    },

    sweep(now = Date.now()): void {
      for (const [key, e] of entries) if (e.expiresAt <= now) entries.delete(key);
    },

    size: () => entries.size,
  };
}
