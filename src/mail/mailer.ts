/**
 * Delivers a message. With SMTP_URL: nodemailer over SMTP. Without: the message stays in the
 * database as "captured" and shows on the console's Outbox page (development default).
 * SMS go to the signed webhook when SMS_WEBHOOK_URL is set (sms-webhook.ts), else to the Outbox.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from '../lib/logger';
import type { Message } from '../outbox/message.repository';
import type { SmsSender } from './sms-webhook';

export interface Mailer {
  /** 'sent' when handed to SMTP (or the SMS webhook), 'captured' when kept for the Outbox. Throws on delivery failure. */
  deliver(message: Message): Promise<'sent' | 'captured'>;
  close(): void;
}

/**
 * SMTP connections are kept open and reused (nodemailer's pool): without it every message paid a
 * new TCP (and TLS) connection, greeting and authentication. At most `maxConnections` at once, each
 * renewed after `maxMessages` messages.
 */
export const SMTP_POOL = { pool: true, maxConnections: 10, maxMessages: 100 } as const;

export function createMailer(options: { smtpUrl?: string; from: string; log: Logger; sms?: SmsSender }): Mailer {
  // nodemailer waits up to 2 min to connect and 10 min on a silent socket; a hung SMTP server would
  // hold a job (and a graceful shutdown) that long. Fail the attempt instead: the queue retries it.
  const transport: Transporter | undefined = options.smtpUrl
    ? nodemailer.createTransport({ url: options.smtpUrl, ...SMTP_POOL, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 })
    : undefined;
  return {
    async deliver(message) {
      if (message.channel === 'sms' && options.sms) {
        await options.sms.send(message);
        options.log.info({ messageId: message.id, channel: message.channel }, 'message sent to the SMS webhook');
        return 'sent';
      }
      if (message.channel === 'email' && transport) {
        await transport.sendMail({ from: options.from, to: message.recipient, subject: message.subject, text: message.bodyText ?? '' });
        options.log.info({ messageId: message.id, channel: message.channel }, 'message sent over SMTP');
        return 'sent';
      }
      options.log.info({ messageId: message.id, channel: message.channel, subject: message.subject }, 'message captured in the Outbox');
      return 'captured';
    },
    close() {
      transport?.close();
    },
  };
}
