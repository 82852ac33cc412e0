/** Structured JSON logs (pino). Secrets are redacted by path as a second line of defence (SEC-23). */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.otp', '*.secret', '*.code', '*.apiKey', '*.preSharedKey', '*.pin'],
      censor: '[redacted]',
    },
  });
}
