/**
 * The connector's only way into the service: the public validation API (/api/v1, STYLE §11),
 * with a tenant API key, exactly as a customer's own integration would call it. No rule lives
 * here; every verdict comes from the service and none is cached.
 */
import http from 'node:http';
import https from 'node:https';

export interface AuthenticateBody {
  login: string;
  otp?: string;
  password?: string;
  challenge?: boolean;
}

/** What the connector needs of an authenticate answer. */
export type Verdict =
  | { kind: 'accept' }
  | { kind: 'reject' }
  /** challenge mode, right password: these token types can prove the second factor. */
  | { kind: 'challenge'; types: string[] };

/** The service could not give a verdict (unreachable, 5xx, timeout): the request gets no answer. */
export class ApiUnavailableError extends Error {}

/** A 4xx other than a refused input: the connector's own configuration is wrong (key, resource). */
export class ApiConfigurationError extends Error {}

export interface ApiClientOptions {
  apiUrl: string;
  apiKey: string;
  resourceId: string;
  timeoutMs: number;
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** The service's limit of checks per batch request (MAX_BATCH_CHECKS). */
const MAX_BATCH = 100;

/** One authenticate answer as a verdict; anything unexpected is a reject. */
function verdictOf(json: unknown): Verdict {
  if (typeof json !== 'object' || json === null) return { kind: 'reject' };
  const answer = json as { result?: unknown; challenge?: { types?: unknown } };
  if (answer.result === true) return { kind: 'accept' };
  const types = answer.challenge?.types;
  if (Array.isArray(types) && types.every((t) => typeof t === 'string')) return { kind: 'challenge', types };
  return { kind: 'reject' };
}

export function createApiClient(o: ApiClientOptions) {
  const base = `${o.apiUrl}/api/v1/resources/${encodeURIComponent(o.resourceId)}`;
  const headers = { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json', accept: 'application/json' };

  const url = new URL(base);
  const transport = url.protocol === 'https:' ? https : http;
  // node:http with kept-alive sockets: per check it costs a fraction of what fetch (undici) does,
  // and the connector's cost per check is what `npm run bench -- radius` holds under 20 %.
  const agent = new transport.Agent({ keepAlive: true, maxSockets: 64 });
  // Parsed once: a URL string per request would be parsed again each time.
  const target = { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || undefined };

  /** One JSON POST; resolves with the status and parsed body, or throws ApiUnavailableError. */
  function send(path: string, body: unknown): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = transport.request(
        { ...target, path: `${url.pathname}${path}`, method: 'POST', agent, timeout: o.timeoutMs, headers: { ...headers, 'content-length': Buffer.byteLength(payload) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', (err) => reject(new ApiUnavailableError(`the service's answer broke off: ${err.message}`)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
      req.on('error', (err) => reject(new ApiUnavailableError(`the service did not answer: ${err.message}`)));
      req.end(payload);
    });
  }

  async function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    const { status, text } = await send(path, body);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (status >= 500 || status === 429) throw new ApiUnavailableError(`the service answered ${status}`);
    if (status === 401 || status === 403 || status === 404) {
      throw new ApiConfigurationError(`the service answered ${status}: check RADIUS_API_KEY and RADIUS_RESOURCE_ID`);
    }
    return { status, json };
  }

  /** POST /authenticate. A refused input (400/422: e.g. a login with spaces) is a plain reject. */
  async function authenticateOne(body: AuthenticateBody): Promise<Verdict> {
    const { status, json } = await post('/authenticate', body);
    return status === 200 ? verdictOf(json) : { kind: 'reject' };
  }

  /**
   * The checks that arrive together (in one turn of the event loop) go out as one POST
   * /authenticate/batch: under load a RADIUS server receives many datagrams per turn, and one
   * HTTP exchange for all of them costs the connector and the service a fraction of one each
   * (`npm run bench -- radius`). A lone check is a batch of one and waits for nothing.
   */
  let pending: Array<{ body: AuthenticateBody; resolve: (v: Verdict) => void; reject: (e: unknown) => void }> = [];
  function flush() {
    const batch = pending;
    pending = [];
    for (let i = 0; i < batch.length; i += MAX_BATCH) void sendBatch(batch.slice(i, i + MAX_BATCH));
  }
  async function sendBatch(batch: typeof pending) {
    try {
      const { status, json } = await post('/authenticate/batch', { checks: batch.map((c) => c.body) });
      const results = (json as { results?: unknown } | undefined)?.results;
      if (status !== 200 || !Array.isArray(results) || results.length !== batch.length) {
        // A refused batch (400/422) is refused input: each check is a plain reject, as alone.
        if (status === 400 || status === 422) return batch.forEach((c) => c.resolve({ kind: 'reject' }));
        throw new ApiUnavailableError(`the service answered the batch with ${status}`);
      }
      batch.forEach((c, i) => c.resolve(verdictOf(results[i])));
    } catch (err) {
      batch.forEach((c) => c.reject(err));
    }
  }

  return {
    authenticateOne,

    /** Like authenticateOne, sent in a batch with the checks that arrived at the same time. */
    authenticate(body: AuthenticateBody): Promise<Verdict> {
      return new Promise((resolve, reject) => {
        if (pending.push({ body, resolve, reject }) === 1) setImmediate(flush);
      });
    },

    /** POST /challenge: sends the user's email/SMS codes (the answer is the same whatever happened). */
    async sendCodes(login: string): Promise<void> {
      await post('/challenge', { login });
    },

    /** Closes the kept-alive connections (at shutdown). */
    close: () => agent.destroy(),
  };
}
