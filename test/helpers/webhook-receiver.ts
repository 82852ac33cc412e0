/**
 * A real HTTP receiver on 127.0.0.1 (random port) for webhook tests: keeps every request and
 * answers as the test says (status, delay, redirect), and verifies Standard Webhooks signatures
 * independently of the service's code (its own HMAC).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  json: { type: string; timestamp: string; data: Record<string, unknown> };
  at: number;
}

export type Responder = (hook: ReceivedHook) => { status: number; delayMs?: number; location?: string };

export interface WebhookReceiver {
  url: string;
  received: ReceivedHook[];
  respond: Responder;
  close(): Promise<void>;
}

export async function startWebhookReceiver(respond: Responder = () => ({ status: 204 })): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = { url: '', received: [], respond, close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: ReceivedHook['json'];
      try {
        json = JSON.parse(body);
      } catch {
        json = { type: '?', timestamp: '', data: {} };
      }
      const hook: ReceivedHook = {
        path: req.url ?? '/',
        id: String(req.headers['webhook-id'] ?? ''),
        timestamp: String(req.headers['webhook-timestamp'] ?? ''),
        signature: String(req.headers['webhook-signature'] ?? ''),
        body,
        json,
        at: Date.now(),
      };
      receiver.received.push(hook);
      const answer = receiver.respond(hook);
      const send = () => {
        if (res.destroyed) return;
        if (answer.location) res.setHeader('location', answer.location);
        res.statusCode = answer.status;
        res.end('ok');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/**
 * Standard Webhooks verification, written from the specification: true when one of the
 * space-separated `v1,` signatures is the HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the
 * base64-decoded secret.
 */
export function verifySignature(secret: string, hook: Pick<ReceivedHook, 'id' | 'timestamp' | 'body' | 'signature'>): boolean {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  const expected = createHmac('sha256', key).update(`${hook.id}.${hook.timestamp}.${hook.body}`).digest();
  return hook.signature.split(' ').some((part) => {
    const [version, sig] = part.split(',');
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
