/**
 * The RADIUS connector's configuration: its one reader of the environment (the connector is a
 * program of its own that customers run next to their equipment, so it does not share the
 * service's src/config.ts). Validated once at start; every problem is named in one message.
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from '../config';

export { ConfigError };

export const RADIUS_MODES = ['otp', 'password_otp', 'challenge'] as const;
export type RadiusMode = (typeof RADIUS_MODES)[number];

/** A NAS allowed to send requests: the addresses it sends from and the secret it shares with us. */
export interface RadiusClient {
  /** As configured (`10.0.0.0/8`, `192.0.2.7`), for logs. */
  name: string;
  matches: BlockList;
  secret: string;
}

export interface RadiusConfig {
  host: string;
  port: number;
  /** Port of /healthz and /metrics (HTTP, same host). */
  httpPort: number;
  apiUrl: string;
  apiKey: string;
  resourceId: string;
  mode: RadiusMode;
  /** password_otp: how many trailing characters of User-Password are the code (PIN included, if any). */
  otpLength: number;
  clients: RadiusClient[];
  /** Life of an open challenge (the `State` of an Access-Challenge). */
  challengeSeconds: number;
  /** Time of a call to the API before the request is given up (the NAS retries or fails over). */
  apiTimeoutMs: number;
  logLevel: string;
}

const envSchema = z.object({
  RADIUS_HOST: z.string().min(1).default('0.0.0.0'),
  RADIUS_PORT: z.coerce.number().int().min(0).max(65535).default(1812),
  RADIUS_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9812),
  RADIUS_API_URL: z.url({ protocol: /^https?$/, error: 'the service\'s base URL, e.g. https://mfa.example.com' }),
  RADIUS_API_KEY: z.string({ error: 'a tenant API key (mfa_…)' }).min(20, 'a tenant API key (mfa_…)'),
  RADIUS_RESOURCE_ID: z.uuid({ error: 'the id of the resource this connector protects (a UUID)' }),
  RADIUS_CLIENTS: z.string({ error: 'comma-separated address-or-CIDR:shared-secret entries' }).min(1, 'comma-separated address-or-CIDR:shared-secret entries'),
  RADIUS_MODE: z.enum(RADIUS_MODES, { error: `one of ${RADIUS_MODES.join(', ')}` }).default('challenge'),
  RADIUS_OTP_LENGTH: z.coerce.number().int().min(4).max(64).default(6),
  RADIUS_CHALLENGE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  RADIUS_API_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/**
 * `address-or-CIDR:secret`. An IPv6 address goes in brackets (`[2001:db8::/32]:secret`), since
 * its colons would otherwise be ambiguous; the secret is everything after the separator.
 */
export function parseClients(value: string): RadiusClient[] {
  return value.split(',').map((raw) => raw.trim()).filter(Boolean).map((entry) => {
    const m = /^\[([^\]]+)\]:(.*)$/.exec(entry) ?? /^([^:]+):(.*)$/.exec(entry);
    if (!m) throw new ConfigError(`RADIUS_CLIENTS: "${entry.split(':')[0]}" needs the form address-or-CIDR:shared-secret`);
    const [, where, secret] = m as unknown as [string, string, string];
    if (secret.length < 16) throw new ConfigError(`RADIUS_CLIENTS: the shared secret of ${where} must be at least 16 characters`);
    const [address, bits] = where.split('/');
    const family = isIP(address ?? '');
    if (!family) throw new ConfigError(`RADIUS_CLIENTS: "${where}" is not an IP address or CIDR block`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    const matches = new BlockList();
    if (bits === undefined) {
      matches.addAddress(address!, type);
    } else {
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (family === 6 ? 128 : 32)) throw new ConfigError(`RADIUS_CLIENTS: "${where}" has an invalid prefix length`);
      matches.addSubnet(address!, prefix, type);
    }
    return { name: where, matches, secret };
  });
}

export function loadRadiusConfig(env: Record<string, string | undefined> = process.env): RadiusConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid RADIUS connector configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const clients = parseClients(e.RADIUS_CLIENTS);
  if (clients.length === 0) throw new ConfigError('RADIUS_CLIENTS: name at least one address-or-CIDR:shared-secret');
  return {
    host: e.RADIUS_HOST,
    port: e.RADIUS_PORT,
    httpPort: e.RADIUS_HTTP_PORT,
    apiUrl: e.RADIUS_API_URL.replace(/\/+$/, ''),
    apiKey: e.RADIUS_API_KEY,
    resourceId: e.RADIUS_RESOURCE_ID,
    mode: e.RADIUS_MODE,
    otpLength: e.RADIUS_OTP_LENGTH,
    clients,
    challengeSeconds: e.RADIUS_CHALLENGE_SECONDS,
    apiTimeoutMs: e.RADIUS_API_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
  };
}

/** The client a datagram's source address belongs to (first match wins), or undefined. */
export function findClient(clients: RadiusClient[], address: string): RadiusClient | undefined {
  // Dual-stack sockets report IPv4 senders as ::ffff:a.b.c.d.
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const type = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
  return clients.find((c) => c.matches.check(plain, type));
}
