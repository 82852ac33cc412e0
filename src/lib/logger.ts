/** Structured JSON logs (pino). Secrets are redacted by path as a second line of defence (SEC-23). */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** `destination` defaults to stdout; tests pass a buffer to read what was logged (SEC-23). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.otp', '*.secret', '*.code', '*.apiKey', '*.preSharedKey', '*.pin'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
