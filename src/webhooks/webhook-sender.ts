/**
 * One HTTP attempt of a webhook (issue 13 §1): POST, 2xx = delivered; any other status, a redirect
 * (never followed: it could point anywhere, including inside our network), a network error or no
 * answer within the timeout = failed. With private targets refused, every address the host
 * resolves to is checked and the connection is pinned to the checked one.
 */
import http from 'node:http';
import https from 'node:https';
import { lookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isForbiddenAddress, urlProblem, type TargetPolicy } from './address-policy';

export interface SendResult {
  ok: boolean;
  statusCode?: number;
  error?: string;
}

export interface SendOptions extends TargetPolicy {
  timeoutMs: number;
}

/** Resolves the host and applies the address rule; returns the address to connect to, or a refusal. */
async function resolveTarget(url: URL, policy: TargetPolicy): Promise<LookupAddress | string> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: LookupAddress[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch (err) {
    return `DNS lookup failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  if (addresses.length === 0) return 'DNS lookup returned no address';
  // Every answer must pass: a host with one public and one private address would otherwise let a
  // later request (or another process) reach the private one.
  if (!policy.allowPrivate) {
    const bad = addresses.find((a) => isForbiddenAddress(a.address));
    if (bad) return `refused: ${host} resolves to ${bad.address}, a private or local address`;
  }
  return addresses[0];
}

export async function sendWebhook(target: string, headers: Record<string, string>, body: string, options: SendOptions): Promise<SendResult> {
  const problem = urlProblem(target, options);
  if (problem) return { ok: false, error: `refused: ${problem}` };
  const url = new URL(target);
  const started = Date.now();
  const resolved = await resolveTarget(url, options);
  if (typeof resolved === 'string') return { ok: false, error: resolved };
  const remaining = Math.max(1, options.timeoutMs - (Date.now() - started));

  return new Promise<SendResult>((resolve) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'mfa-service-webhooks/1', ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // Pinned: connect to the address checked above, whatever a second lookup would say.
        lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
          opts?.all ? cb(null, [resolved]) : cb(null, resolved.address, resolved.family)) as unknown as LookupFunction,
        agent: false,
      },
      (res) => {
        // The status decides; the body is not read (a slow or endless one must not hold the attempt).
        res.resume();
        finish(res.statusCode ?? 0);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), remaining);
    let done = false;
    const settle = (result: SendResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    function finish(statusCode: number) {
      if (statusCode >= 200 && statusCode < 300) settle({ ok: true, statusCode });
      else if (statusCode >= 300 && statusCode < 400) settle({ ok: false, statusCode, error: `redirect (${statusCode}) not followed` });
      else settle({ ok: false, statusCode, error: `HTTP ${statusCode}` });
      req.destroy();
    }
    req.on('error', (err) => settle({ ok: false, error: err.message.slice(0, 300) }));
    req.end(body);
  });
}
