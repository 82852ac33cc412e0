/**
 * Micro-batching of concurrent calls into one database statement ("group commit" in the app):
 * while `maxInFlight` batches are running, new items wait; when one finishes, everything waiting
 * goes out as the next batch. A lone item goes out at once, so an idle service adds no latency,
 * and a busy one pays one round trip, one statement and one commit for many requests.
 *
 * Items with the same key never share a batch (a statement must not touch the same row twice);
 * the later one waits for the next batch. A batch that fails rejects each of its items.
 */
export interface BatcherOptions<I> {
  maxBatch: number;
  maxInFlight: number;
  /** Items with equal keys go to different batches; undefined means "conflicts with nothing". */
  keyOf?: (item: I) => string | undefined;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
}

export type Batcher<I, O> = (item: I) => Promise<O>;

/** `run` receives the items of a batch and returns one result per item, in the same order. */
export function createBatcher<I, O>(run: (items: I[]) => Promise<O[]>, options: BatcherOptions<I>): Batcher<I, O> {
  let queue: Pending<I, O>[] = [];
  let inFlight = 0;

  function takeBatch(): Pending<I, O>[] {
    if (!options.keyOf) {
      const batch = queue.slice(0, options.maxBatch);
      queue = queue.slice(batch.length);
      return batch;
    }
    const batch: Pending<I, O>[] = [];
    const rest: Pending<I, O>[] = [];
    const keys = new Set<string>();
    for (const pending of queue) {
      const key = options.keyOf(pending.item);
      if (batch.length >= options.maxBatch || (key !== undefined && keys.has(key))) {
        rest.push(pending);
        continue;
      }
      if (key !== undefined) keys.add(key);
      batch.push(pending);
    }
    queue = rest;
    return batch;
  }

  function pump(): void {
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = takeBatch();
      inFlight++;
      // The next batch goes out before this one's callers resume: their continuations (answers
      // to write, the next stage to queue) then run while the database works on it.
      const settle = (each: (p: Pending<I, O>, i: number) => void) => {
        inFlight--;
        pump();
        batch.forEach(each);
      };
      let started: Promise<O[]>;
      try {
        started = run(batch.map((p) => p.item));
      } catch (err) {
        started = Promise.reject(err);
      }
      started.then(
        (results) => {
          if (results.length === batch.length) settle((p, i) => p.resolve(results[i]));
          else settle((p) => p.reject(new Error(`batch returned ${results.length} results for ${batch.length} items`)));
        },
        (err) => settle((p) => p.reject(err)),
      );
    }
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      pump();
    });
}
