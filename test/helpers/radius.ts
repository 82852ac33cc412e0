/**
 * The RADIUS connector in front of the real service, for the radius-* tests: the web app listening
 * on a free port, the connector's server in-process on a free UDP port, and two RADIUS clients:
 * one built on the `radius` package (any packet, right or wrong) and Debian's `radclient`.
 */
import { createSocket } from 'node:dgram';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import assert from 'node:assert/strict';
import radius from 'radius';
import { createTestContext, type TestContext } from './context';
import { apiClient } from './api-client';
import { createTenant, createResource, createUser, unique, type TestTenant } from './factories';
import { base32Encode, generateTotp } from '../../src/otp/otp-engine';
import { loadRadiusConfig, type RadiusMode } from '../../src/radius/config';
import { startRadiusServer, type RadiusServer } from '../../src/radius/server';
import { createRadiusMetrics, type RadiusMetrics } from '../../src/radius/metrics';
import { createLogger } from '../../src/lib/logger';

export const SECRET = 'a-shared-secret-of-the-vpn';
export const PASSWORD = 'a long passphrase';
export const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
export const totpAt = (offsetSteps = 0) => generateTotp(SEED, Date.now() + offsetSteps * 30_000, { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 });

export interface Connector {
  port: number;
  server: RadiusServer;
  metrics: RadiusMetrics;
  close(): Promise<void>;
}

export interface RadiusStack {
  ctx: TestContext;
  apiUrl: string;
  tenant: TestTenant;
  resourceId: string;
  /** Starts a connector on a free UDP port for this stack's resource. */
  connector(mode: RadiusMode, env?: Record<string, string>): Promise<Connector>;
  /** A user assigned to the resource, with a password, and a TOTP (SEED) or email token there unless `token` is null. */
  user(token?: 'totp' | 'email' | null): Promise<{ id: string; login: string; email: string }>;
  close(): Promise<void>;
}

export async function radiusStack(resourceInput: Record<string, unknown> = {}): Promise<RadiusStack> {
  const ctx = await createTestContext();
  const http: Server = ctx.app.listen(0, '127.0.0.1');
  await new Promise((r) => http.once('listening', r));
  const apiUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const tenant = await createTenant(ctx.services);
  const resourceId = (await createResource(ctx.services, tenant, resourceInput)).id;
  const connectors: Connector[] = [];
  const api = apiClient(ctx.app, tenant.apiKey);

  return {
    ctx,
    apiUrl,
    tenant,
    resourceId,
    async connector(mode, env = {}) {
      const config = loadRadiusConfig({
        RADIUS_HOST: '127.0.0.1',
        RADIUS_PORT: '0',
        RADIUS_API_URL: apiUrl,
        RADIUS_API_KEY: tenant.apiKey,
        RADIUS_RESOURCE_ID: resourceId,
        RADIUS_CLIENTS: `127.0.0.0/8:${SECRET}`,
        RADIUS_MODE: mode,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        ...env,
      });
      const metrics = createRadiusMetrics();
      const server = await startRadiusServer(config, createLogger(config.logLevel), metrics);
      const c: Connector = { port: server.socket.address().port, server, metrics, close: () => server.close() };
      connectors.push(c);
      return c;
    },
    async user(token = 'totp') {
      const s = ctx.services;
      const u = await createUser(s, tenant, { password: PASSWORD, email: `${unique('u')}@example.test` });
      await s.users.assign(tenant.actor, resourceId, u.id);
      if (token) {
        const created = await api.post('/tokens', token === 'totp' ? { userId: u.id, type: 'totp', secret: base32Encode(SEED) } : { userId: u.id, type: 'email' });
        assert.equal(created.status, 201, created.text);
        assert.equal((await api.put(`/resources/${resourceId}/tokens/${created.body.id}`)).status, 204);
      }
      return { id: u.id, login: u.login, email: u.email! };
    },
    async close() {
      for (const c of connectors) await c.close();
      await new Promise((r) => http.close(r));
      await ctx.close();
    },
  };
}

export interface Reply {
  code: string;
  attributes: Record<string, unknown>;
  raw: Buffer;
}

export interface RequestOptions {
  secret?: string;
  identifier?: number;
  /** false: send without Message-Authenticator; 'wrong': with a wrong one. */
  messageAuthenticator?: true | false | 'wrong';
  /** How long to wait for an answer before calling it dropped. */
  timeoutMs?: number;
  /** Source address (any 127.x.y.z works on Linux loopback). */
  from?: string;
}

/** An Access-Request as the `radius` package encodes it (User-Password hidden with the secret). */
export function accessRequest(attributes: Array<[string, string | Buffer]>, o: RequestOptions = {}): Buffer {
  const secret = o.secret ?? SECRET;
  const packet = radius.encode({
    code: 'Access-Request',
    secret,
    identifier: o.identifier ?? randomBytes(1)[0]!,
    // A copy: the library appends its Message-Authenticator to the array it is given.
    attributes: attributes.map(([k, v]) => [k, v]),
    add_message_authenticator: o.messageAuthenticator !== false,
  });
  if (o.messageAuthenticator === 'wrong') packet[packet.length - 1]! ^= 0x01; // the library appends it last
  return packet;
}

/** Sends datagrams from one socket (so retransmissions share a source port) and collects the answers. */
export async function exchange(port: number, datagrams: Buffer[], o: RequestOptions = {}): Promise<Array<Reply | null>> {
  const socket = createSocket('udp4');
  const replies: Buffer[] = [];
  socket.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => socket.bind(0, o.from ?? '127.0.0.1', () => r()));
  for (const d of datagrams) socket.send(d, port, '127.0.0.1');
  const deadline = Date.now() + (o.timeoutMs ?? 3000);
  while (replies.length < datagrams.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  socket.close();
  return datagrams.map((d) => {
    const raw = replies.find((r) => r[1] === d[1]);
    if (!raw) return null;
    // The library checks the Response Authenticator and the Message-Authenticator against our request.
    assert.ok(radius.verify_response({ response: raw, request: d, secret: o.secret ?? SECRET }), 'the response authenticators verify');
    const decoded = radius.decode({ packet: raw, secret: o.secret ?? SECRET });
    return { code: decoded.code, attributes: decoded.attributes as Record<string, unknown>, raw };
  });
}

/** One Access-Request, one answer (or null when dropped). */
export async function ask(port: number, attributes: Array<[string, string | Buffer]>, o: RequestOptions = {}): Promise<Reply | null> {
  const [reply] = await exchange(port, [accessRequest(attributes, o)], o);
  return reply!;
}

/** Debian's radclient (freeradius-utils): one Access-Request; resolves with its exit code and output. */
export function radclient(port: number, attributes: Record<string, string>, secret = SECRET): Promise<{ code: number; output: string }> {
  const input = Object.entries(attributes).map(([k, v]) => `${k} = "${v}"`).concat('Message-Authenticator = 0x00').join('\n');
  return new Promise((resolve) => {
    const child = execFile('radclient', ['-x', '-r', '1', '-t', '2', `127.0.0.1:${port}`, 'auth', secret], (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
    child.stdin!.end(input + '\n');
  });
}

/** The current value of mfa_radius_requests_total for a result. */
export async function counted(c: Connector, result: string): Promise<number> {
  const m = await c.metrics.requests.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}
