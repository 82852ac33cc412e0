/** Environment of the service processes a bench starts: production mode, fresh random secrets, no Redis, SMTP or SMS. */
import { randomBytes } from 'node:crypto';

export function benchServerEnv(databaseUrl: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    BASE_URL: 'http://127.0.0.1',
    SESSION_SECRET: randomBytes(32).toString('base64'),
    CSRF_SECRET: randomBytes(32).toString('base64'),
    ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    ENCRYPTION_KEY_ID: 'bench',
    METRICS_TOKEN: randomBytes(24).toString('base64url'),
    RUN_MIGRATIONS: 'false',
    REDIS_URL: undefined,
    SMTP_URL: undefined,
    SMS_WEBHOOK_URL: undefined,
    ...extra,
  };
}
