/**
 * One load run with autocannon, in the bench process (the servers run in their own processes).
 * Every request is built by `next()` and every answer checked by `check()`, so the floor and the
 * real endpoint cost the load generator the same work per request.
 */
import autocannon from 'autocannon';

export interface Traffic {
  path: string;
  headers: Record<string, string>;
  /** The next request body and a tag handed back with its answer. Returns null when out of data. */
  next(): { body: string; tag: number } | null;
  /** True when a 200 answer's body is the expected one. */
  check(body: string, tag: number): boolean;
  /** Called for every answer (after check), e.g. to release the tag. */
  answered?(tag: number): void;
}

export interface LoadResult {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  responses: number;
  /** 200 answers whose body was not the expected one. */
  wrong: number;
  non200: number;
  socketErrors: number;
  timeouts: number;
  duration_s: number;
}

export async function runLoad(baseUrl: string, traffic: Traffic, connections: number, durationS: number): Promise<LoadResult> {
  let responses = 0;
  let wrong = 0;
  let non200 = 0;
  let exhausted = false;
  const instance = autocannon({
    url: baseUrl,
    connections,
    pipelining: 1,
    duration: durationS,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: traffic.path,
        headers: { 'content-type': 'application/json', ...traffic.headers },
        // The context lives for one request of one connection: it carries the tag to the answer.
        setupRequest(req, context) {
          const next = traffic.next();
          if (!next) {
            exhausted = true;
            throw new Error('the benchmark ran out of prepared codes; prepare more tokens or codes');
          }
          context.tag = next.tag;
          return { ...req, body: next.body };
        },
        onResponse(status, body, context) {
          responses++;
          const tag = context.tag as number;
          if (status !== 200) non200++;
          else if (!traffic.check(body, tag)) wrong++;
          traffic.answered?.(tag);
        },
      },
    ],
  });
  const result = await instance;
  if (exhausted) throw new Error('the benchmark ran out of prepared codes');
  return {
    rps: Math.round((responses - non200) / result.duration),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    responses,
    wrong,
    non200,
    socketErrors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    duration_s: result.duration,
  };
}
