/**
 * A real SMTP server on 127.0.0.1 (random port) that keeps what it receives, so tests check
 * delivery end to end through nodemailer instead of mocking the mailer.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope recipients (RCPT TO). */
  to: string[];
  subject: string;
  /** The decoded text body. */
  text: string;
  raw: string;
}

export interface SmtpSink {
  url: string;
  received: ReceivedMail[];
  /** Resolves with the first mail (already received or arriving) that matches, or rejects after timeoutMs. */
  waitFor(predicate: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/** Quoted-printable to a binary (one char per byte) string. */
function unquote(body: string): string {
  return body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Enough MIME for nodemailer's single-part text mails: unfolded headers, QP or base64 body. */
export function parseMail(raw: string, to: string[]): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => head.match(new RegExp(`^${name}:\\s*(.*)$`, 'im'))?.[1].trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  // `raw` holds one char per byte (latin1), so every branch ends in bytes decoded as UTF-8.
  const bytes = encoding === 'base64' ? Buffer.from(body, 'base64') : Buffer.from(encoding === 'quoted-printable' ? unquote(body) : body, 'latin1');
  const text = bytes.toString('utf8');
  return { to, subject: header('Subject'), text: text.replace(/\r\n/g, '\n').trimEnd(), raw };
}

/**
 * `delayMs` holds each mail's acknowledgement that long after it is received, like a slow SMTP
 * server: a sender killed meanwhile has delivered a mail without knowing it.
 */
export async function startSmtpSink({ delayMs = 0 }: { delayMs?: number } = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const waiters = new Set<(mail: ReceivedMail) => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 500,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mail = parseMail(Buffer.concat(chunks).toString('latin1'), session.envelope.rcptTo.map((r) => r.address));
        received.push(mail);
        for (const waiter of waiters) waiter(mail);
        if (delayMs) setTimeout(() => callback(), delayMs);
        else callback();
      });
    },
  });
  // A sender killed mid-conversation resets its connections (the fault tests kill workers that
  // hold pooled SMTP connections on purpose); smtp-server reports that as an 'error' event, which
  // unhandled would be an uncaught exception in whichever test is running.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    waitFor(predicate, timeoutMs = 10_000) {
      const found = received.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching mail within ${timeoutMs} ms (received ${received.length})`));
        }, timeoutMs);
        const check = (mail: ReceivedMail) => {
          if (!predicate(mail)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(mail);
        };
        waiters.add(check);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
