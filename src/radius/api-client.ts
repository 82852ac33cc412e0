/**
 * The connector's only way into the service: the public validation API (/api/v1, STYLE §11),
 * with a tenant API key, exactly as a customer's own integration would call it. No rule lives
 * here; every verdict comes from the service and none is cached.
 */
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

export function createApiClient(o: ApiClientOptions) {
  const base = `${o.apiUrl}/api/v1/resources/${encodeURIComponent(o.resourceId)}`;
  const headers = { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json', accept: 'application/json' };

  async function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(o.timeoutMs) });
    } catch (err) {
      throw new ApiUnavailableError(`the service did not answer: ${(err as Error).message}`);
    }
    const text = await res.text().catch(() => '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.status >= 500 || res.status === 429) throw new ApiUnavailableError(`the service answered ${res.status}`);
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      throw new ApiConfigurationError(`the service answered ${res.status}: check RADIUS_API_KEY and RADIUS_RESOURCE_ID`);
    }
    return { status: res.status, json };
  }

  return {
    /** POST /authenticate. A refused input (400/422: e.g. a login with spaces) is a plain reject. */
    async authenticate(body: AuthenticateBody): Promise<Verdict> {
      const { status, json } = await post('/authenticate', body);
      if (status !== 200 || typeof json !== 'object' || json === null) return { kind: 'reject' };
      const answer = json as { result?: unknown; challenge?: { types?: unknown } };
      if (answer.result === true) return { kind: 'accept' };
      const types = answer.challenge?.types;
      if (Array.isArray(types) && types.every((t) => typeof t === 'string')) return { kind: 'challenge', types };
      return { kind: 'reject' };
    },

    /** POST /challenge: sends the user's email/SMS codes (the answer is the same whatever happened). */
    async sendCodes(login: string): Promise<void> {
      await post('/challenge', { login });
    },
  };
}
