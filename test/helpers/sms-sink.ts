/**
 * A local HTTP server standing in for an SMS gateway (SMS_WEBHOOK_URL): it keeps every request
 * with its raw body and headers, so tests verify the HMAC signature exactly as a gateway would.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SmsRequest {
  headers: IncomingHttpHeaders;
  /** The body exactly as received (what the signature covers). */
  raw: string;
  body: { to: string; text: string; messageId: string };
}

export interface SmsSink {
  url: string;
  received: SmsRequest[];
  /** The HTTP status the sink answers with from now on (200 by default). */
  status: number;
  waitFor(predicate: (sms: SmsRequest) => boolean, timeoutMs?: number): Promise<SmsRequest>;
  close(): Promise<void>;
}

export async function startSmsSink(): Promise<SmsSink> {
  const received: SmsRequest[] = [];
  const sink = { received, status: 200 } as SmsSink;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: SmsRequest['body'];
      try {
        body = JSON.parse(raw);
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (sink.status < 300) received.push({ headers: req.headers, raw, body });
      res.writeHead(sink.status, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  sink.url = `http://127.0.0.1:${port}/sms`;
  sink.waitFor = async (predicate, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = received.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching SMS within ${timeoutMs} ms (received ${received.length})`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  sink.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return sink;
}
