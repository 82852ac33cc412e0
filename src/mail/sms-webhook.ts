/**
 * SMS delivery through an operator's gateway: a JSON POST `{to, text, messageId}` to
 * SMS_WEBHOOK_URL, signed so the receiver can tell it came from us and is fresh:
 *   X-Timestamp: <unix seconds>
 *   X-Signature: sha256=<hex HMAC-SHA256(SMS_WEBHOOK_SECRET, "<timestamp>.<raw body>")>
 * The receiver recomputes the HMAC over the raw bytes it got, compares in constant time and
 * rejects old timestamps (replays). Any non-2xx answer or a timeout is a failed attempt, which
 * the queue retries; `messageId` lets the gateway drop a duplicate of a retried delivery.
 */
import { createHmac } from 'node:crypto';
import type { Message } from '../outbox/message.repository';

export interface SmsSender {
  send(message: Message): Promise<void>;
}

export const SMS_TIMEOUT_MS = 10_000;

/** The value of X-Signature for a timestamp and raw body (also used by tests and receivers). */
export function signSmsPayload(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

export function createSmsWebhook(options: { url: string; secret: string; timeoutMs?: number }): SmsSender {
  return {
    async send(message) {
      const body = JSON.stringify({ to: message.recipient, text: message.bodyText ?? '', messageId: message.id });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const res = await fetch(options.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Timestamp': timestamp, 'X-Signature': signSmsPayload(options.secret, timestamp, body) },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? SMS_TIMEOUT_MS),
      }).catch((err: Error & { cause?: Error }) => {
        // fetch says only "fetch failed"; operators need the cause (refused, DNS, timeout) in last_error.
        throw new Error(`SMS webhook unreachable: ${err.cause?.message ?? err.message}`);
      });
      // Drain the body so the connection is released; its content does not matter.
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`SMS webhook answered HTTP ${res.status}`);
    },
  };
}
