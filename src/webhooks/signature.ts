/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of
 * 32 random bytes; the signature is `v1,` + base64 HMAC-SHA256, keyed with the decoded secret, of
 * `{webhook-id}.{webhook-timestamp}.{body}`. Several signatures are space-separated (rotation).
 */
import { createHmac, randomBytes } from 'node:crypto';

export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function signPayload(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The `webhook-signature` header value: one signature per secret still valid. */
export function signatureHeader(secrets: string[], id: string, timestamp: number, body: string): string {
  return secrets.map((s) => signPayload(s, id, timestamp, body)).join(' ');
}
