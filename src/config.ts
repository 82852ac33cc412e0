/**
 * The one place that reads process.env. Everything else receives a validated Config.
 * Development defaults need no variables at all; production refuses to start without real secrets.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  BASE_URL: z.url().optional(),
  PORTAL_DOMAIN: z.string().regex(/^[a-z0-9.-]+(:\d+)?$/i, 'a host name such as mfa.example.com').optional(),
  DATABASE_URL: z.string().optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  EMBEDDED_PG_DIR: z.string().default('./.data/postgres'),
  EMBEDDED_PG_PORT: z.coerce.number().int().default(54329),
  REDIS_URL: z.string().optional(),
  // In braces, a Redis Cluster hash tag: BullMQ's documented prefix form, so every key of a queue
  // lands in one slot. Plain names still work on a single Redis (deployments from before the tag).
  QUEUE_PREFIX: z.string().regex(/^(\{[A-Za-z0-9_.-]+\}|[A-Za-z0-9_.-]+)$/, 'letters, digits, "_", "." or "-", optionally all in braces like {mfa}').default('{mfa}'),
  SMTP_URL: z.string().optional(),
  MAIL_FROM: z.string().default('MFA Service <no-reply@localhost>'),
  SMS_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
  SMS_WEBHOOK_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  SESSION_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  CSRF_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  ENCRYPTION_KEYS: z
    .string()
    .regex(/^([A-Za-z0-9_-]+:[A-Za-z0-9+/=]{43,44})(,[A-Za-z0-9_-]+:[A-Za-z0-9+/=]{43,44})*$/, 'id:base64key[,id:base64key...] with 32-byte keys')
    .optional(),
  ENCRYPTION_KEY_ID: z.string().optional(),
  SIGNUP_ENABLED: booleanFlag.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: booleanFlag.default(false),
  RUN_MIGRATIONS: booleanFlag.default(true),
  CONSOLE_SIGN_IN_PER_IP: z.coerce.number().int().min(1).default(100),
  METRICS_TOKEN: z.string().min(24, 'at least 24 characters').optional(),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  OPS_USERNAME: z.string().min(1).max(100).optional(),
  OPS_PASSWORD: z.string().min(16, 'at least 16 characters').max(200).optional(),
  WEBHOOK_ALLOW_PRIVATE: booleanFlag.optional(),
  WEBHOOK_RETRY_SCHEDULE_MS: z.string().regex(/^\d+(,\d+)*$/, 'comma-separated milliseconds, e.g. 5000,300000').optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  AUDIT_DISPATCH_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  env: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  host: string;
  baseUrl: string;
  portalDomain?: string;
  databaseUrl?: string;
  databasePoolMax: number;
  embeddedPg: { dir: string; port: number };
  redisUrl?: string;
  /**
   * Namespace of the BullMQ keys in Redis: deployments (and test files) sharing one Redis use
   * different prefixes. `{mfa}` by default: the braces make it a Redis Cluster hash tag.
   */
  queuePrefix: string;
  smtpUrl?: string;
  mailFrom: string;
  /** SMS gateway: signed JSON POSTs (src/mail/sms-webhook.ts). Unset: SMS are captured in the Outbox. */
  smsWebhook?: { url: string; secret: string };
  sessionSecret: string;
  csrfSecret: string;
  encryption: { keys: Map<string, Buffer>; activeKeyId: string };
  signupEnabled: boolean;
  logLevel: string;
  trustProxy: boolean;
  runMigrations: boolean;
  /** Session idle timeout and absolute lifetime for the admin console. */
  adminSession: { idleMinutes: number; absoluteHours: number };
  /** Console password-step attempts allowed per IP address in 15 minutes (raise it behind a shared NAT). */
  consoleSignInPerIp: number;
  /** Bearer token /metrics requires (web and worker); unset: open (development only, production requires it). */
  metricsToken?: string;
  /** The worker's /metrics port; unset: the worker serves no metrics. */
  workerMetricsPort?: number;
  /** Operators' credentials for /ops/queues (HTTP Basic); unset: the dashboard does not exist (404). */
  ops?: { username: string; password: string };
  /** Tenant webhooks (issue 13 §1): SSRF rule, retry schedule, attempt timeout, dispatcher poll. */
  webhooks: WebhookConfig;
}

export interface WebhookConfig {
  /** Allow http and loopback/private targets (development and tests); production refuses them. */
  allowPrivate: boolean;
  /** Wait after the 1st, 2nd... failed attempt; a failure after the last is final (dead). */
  retryScheduleMs: number[];
  timeoutMs: number;
  /** How often each dispatching process looks for audit events to fan out and deliveries due. */
  dispatchIntervalMs: number;
}

/** Standard Webhooks' schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

export class ConfigError extends Error {}

/** Secrets that production must be given explicitly. */
const PRODUCTION_SECRETS = ['DATABASE_URL', 'BASE_URL', 'SESSION_SECRET', 'CSRF_SECRET', 'ENCRYPTION_KEYS', 'METRICS_TOKEN'] as const;

/** A development-only value derived from a label, so restarts keep sessions and seeds readable. */
function devSecret(label: string): string {
  return createHash('sha256').update(`mfa-dev-only:${label}`).digest('base64');
}

/** One character repeated (`aaaa…`, `0000…`), whatever its length: a placeholder, not a secret. */
const oneCharacter = (value: string) => /^(.)\1*$/su.test(value);

/** The value .env.example shows for secrets: public, so never a secret. */
const EXAMPLE_PLACEHOLDER = 'at-least-32-characters-of-randomness';

/** True when the bytes are a pattern of at most 4 bytes, repeated. */
const repeatsShortPattern = (key: Buffer) => [2, 3, 4].some((n) => key.every((b, i) => b === key[i % n]));

/**
 * What production must not run with (the variables are present, checked before): placeholder
 * secrets, all-zero or one-byte keys, and the development defaults, which are public in this code.
 */
export function weakSecrets(sessionSecret: string, csrfSecret: string, keys: Map<string, Buffer>, operator: { metricsToken?: string; opsPassword?: string } = {}): string[] {
  const problems: string[] = [];
  for (const [name, value] of [['METRICS_TOKEN', operator.metricsToken], ['OPS_PASSWORD', operator.opsPassword]] as const) {
    if (value && oneCharacter(value)) problems.push(`${name} is one character repeated`);
    else if (value === EXAMPLE_PLACEHOLDER) problems.push(`${name} is the placeholder of .env.example`);
  }
  for (const [name, value, label] of [['SESSION_SECRET', sessionSecret, 'session'], ['CSRF_SECRET', csrfSecret, 'csrf']] as const) {
    if (oneCharacter(value)) problems.push(`${name} is one character repeated`);
    else if (value === devSecret(label)) problems.push(`${name} is the development default`);
    else if (value === EXAMPLE_PLACEHOLDER) problems.push(`${name} is the placeholder of .env.example`);
  }
  const devKey = Buffer.from(devSecret('encryption'), 'base64');
  for (const [id, key] of keys) {
    if (key.every((b) => b === key[0])) problems.push(`ENCRYPTION_KEYS: key '${id}' is ${key[0] === 0 ? 'all zeros' : 'one byte repeated'}`);
    // One base64 character repeated ('aaaa…=') decodes to a 3-byte pattern.
    else if (repeatsShortPattern(key)) problems.push(`ENCRYPTION_KEYS: key '${id}' is a short pattern repeated`);
    else if (key.equals(devKey)) problems.push(`ENCRYPTION_KEYS: key '${id}' is the development default`);
  }
  return problems;
}

function parseKeys(spec: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const pair of spec.split(',')) {
    const [id, b64] = pair.split(':');
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) throw new ConfigError(`ENCRYPTION_KEYS: key "${id}" must be 32 bytes (base64)`);
    keys.set(id, key);
  }
  return keys;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  if (isProduction) {
    const missing = PRODUCTION_SECRETS.filter((name) => !e[name]);
    if (missing.length > 0) {
      throw new ConfigError(`NODE_ENV=production needs these variables: ${missing.join(', ')}`);
    }
  }
  if (e.SMS_WEBHOOK_URL && !e.SMS_WEBHOOK_SECRET) {
    throw new ConfigError('SMS_WEBHOOK_URL needs SMS_WEBHOOK_SECRET (at least 32 characters) to sign the requests');
  }
  if (!!e.OPS_USERNAME !== !!e.OPS_PASSWORD) {
    throw new ConfigError('OPS_USERNAME and OPS_PASSWORD go together (the queue dashboard at /ops/queues needs both; set neither to turn it off)');
  }
  const keys = e.ENCRYPTION_KEYS ? parseKeys(e.ENCRYPTION_KEYS) : new Map([['dev', Buffer.from(devSecret('encryption'), 'base64')]]);
  if (isProduction) {
    const weak = weakSecrets(e.SESSION_SECRET!, e.CSRF_SECRET!, keys, { metricsToken: e.METRICS_TOKEN, opsPassword: e.OPS_PASSWORD });
    if (weak.length > 0) throw new ConfigError(`NODE_ENV=production refuses weak secrets:\n${weak.map((w) => `  ${w}`).join('\n')}`);
  }
  const activeKeyId = e.ENCRYPTION_KEY_ID ?? [...keys.keys()].at(-1)!;
  if (!keys.has(activeKeyId)) throw new ConfigError(`ENCRYPTION_KEY_ID "${activeKeyId}" is not in ENCRYPTION_KEYS`);

  return {
    env: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    host: e.HOST,
    baseUrl: (e.BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    portalDomain: e.PORTAL_DOMAIN?.toLowerCase(),
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    embeddedPg: { dir: e.EMBEDDED_PG_DIR, port: e.EMBEDDED_PG_PORT },
    redisUrl: e.REDIS_URL,
    queuePrefix: e.QUEUE_PREFIX,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    smsWebhook: e.SMS_WEBHOOK_URL ? { url: e.SMS_WEBHOOK_URL, secret: e.SMS_WEBHOOK_SECRET! } : undefined,
    sessionSecret: e.SESSION_SECRET ?? devSecret('session'),
    csrfSecret: e.CSRF_SECRET ?? devSecret('csrf'),
    encryption: { keys, activeKeyId },
    signupEnabled: e.SIGNUP_ENABLED ?? !isProduction,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    runMigrations: e.RUN_MIGRATIONS,
    adminSession: { idleMinutes: 30, absoluteHours: 12 },
    consoleSignInPerIp: e.CONSOLE_SIGN_IN_PER_IP,
    metricsToken: e.METRICS_TOKEN,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    ops: e.OPS_USERNAME && e.OPS_PASSWORD ? { username: e.OPS_USERNAME, password: e.OPS_PASSWORD } : undefined,
    webhooks: {
      allowPrivate: e.WEBHOOK_ALLOW_PRIVATE ?? !isProduction,
      retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE_MS ? e.WEBHOOK_RETRY_SCHEDULE_MS.split(',').map(Number) : DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      dispatchIntervalMs: e.AUDIT_DISPATCH_INTERVAL_MS,
    },
  };
}
