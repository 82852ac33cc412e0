/**
 * `npm run bench -- radius` (issue 16): the cost a RADIUS connector adds to a check. In the same
 * run, on the same app and database, the same closed-loop load (`--concurrency` checks in flight,
 * each a fresh HOTP code that must be accepted) goes (a) straight to POST /authenticate over HTTP,
 * one check per request as a customer's integration would (the connector's own HTTP client,
 * kept-alive); (b) as RADIUS Access-Requests (otp mode, with Message-Authenticator, encoded by the
 * `radius` package) to the connector, which sends the checks that arrive together to POST
 * /authenticate/batch; and (c) straight to that batch endpoint, for the connector's cost over the
 * cheapest direct path. Figures: checks per second, latency, and CPU per check of every process
 * (app, PostgreSQL, connector, load generator), from /proc.
 */
import os from 'node:os';
import path from 'node:path';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import radius from 'radius';
import { loadConfig } from '../src/config';
import { createDb } from '../src/db/knex';
import { startServer, type ServerProcess } from './lib/processes';
import { cpuPerRequestUs, startCpuCount } from './lib/cpu';
import { hotp, recreateDatabase, seedBenchData } from './validate-data';
import { freePort } from '../test/helpers/wait';
import { createApiClient, type ApiClient } from '../src/radius/api-client';
import { benchServerEnv } from './lib/server-env';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = 'bench-shared-secret-0123456789';

export interface RadiusBenchOptions {
  databaseUrl: string;
  concurrency: number;
  durationS: number;
  warmupS: number;
  users: number;
  log: (line: string) => void;
}

interface Run {
  checks: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
}

/** Runs `check` in `concurrency` loops for `seconds`; user i is only ever in one loop (loop k takes users k, k+c, …). */
async function closedLoop(concurrency: number, users: number, seconds: number, check: (loop: number, user: number) => Promise<boolean>): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      for (let user = loop; Date.now() < end; user = user + concurrency >= users ? loop : user + concurrency) {
        const t = performance.now();
        const ok = await check(loop, user).catch(() => false);
        latencies.push(performance.now() - t);
        if (!ok) errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0) * 10) / 10;
  return { checks: latencies.length, rps: Math.round(latencies.length / seconds), p50_ms: q(0.5), p99_ms: q(0.99), errors };
}

/** A RADIUS client socket per loop; answers matched by identifier. */
function radiusClient(port: number) {
  const sockets: Socket[] = [];
  const waiting = new Map<string, (b: Buffer) => void>();
  const ids: number[] = [];
  return {
    async open(n: number) {
      for (let i = 0; i < n; i++) {
        const s = createSocket('udp4');
        s.on('message', (m) => waiting.get(`${i}/${m[1]}`)?.(m));
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
        sockets.push(s);
        ids.push(0);
      }
    },
    async check(loop: number, login: string, otp: string): Promise<boolean> {
      const id = (ids[loop] = (ids[loop]! + 1) % 256);
      const packet = radius.encode({ code: 'Access-Request', secret: SECRET, identifier: id, attributes: [['User-Name', login], ['User-Password', otp]], add_message_authenticator: true });
      const answer = new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(`${loop}/${id}`);
          reject(new Error('no answer'));
        }, 5000);
        waiting.set(`${loop}/${id}`, (b) => {
          clearTimeout(timer);
          waiting.delete(`${loop}/${id}`);
          resolve(b);
        });
      });
      sockets[loop]!.send(packet, port, '127.0.0.1');
      const reply = await answer;
      return radius.verify_response({ response: reply, request: packet, secret: SECRET }) && reply[0] === 2; // Access-Accept
    },
    close: () => sockets.forEach((s) => s.close()),
  };
}

export async function benchRadius(options: RadiusBenchOptions): Promise<Record<string, unknown>> {
  const { log, concurrency, durationS, warmupS } = options;
  const env = benchServerEnv(options.databaseUrl);

  const config = loadConfig(env);
  log(`preparing ${options.databaseUrl.replace(/\/\/[^@]*@/, '//')} with ${options.users} users and HOTP tokens`);
  await recreateDatabase(options.databaseUrl);
  const data = await seedBenchData(config, options.users);
  const db = createDb(options.databaseUrl, 1);
  const counters = new Array<number>(options.users).fill(0);
  const servers: ServerProcess[] = [];
  let udp: ReturnType<typeof radiusClient> | undefined;
  let apiClient: ApiClient | undefined;
  try {
    const app = await startServer('app', 'src/server.ts', env, async (url) => (await fetch(`${url}/healthz`)).ok, ROOT);
    servers.push(app);
    const [radiusPort, httpPort] = [await freePort(), await freePort()];
    const connector = await startServer(
      'radius',
      'src/radius/main.ts',
      { ...process.env, RADIUS_HOST: '127.0.0.1', RADIUS_PORT: String(radiusPort), RADIUS_HTTP_PORT: String(httpPort), RADIUS_API_URL: app.url, RADIUS_API_KEY: data.apiKey, RADIUS_RESOURCE_ID: data.successResourceId, RADIUS_CLIENTS: `127.0.0.1:${SECRET}`, RADIUS_MODE: 'otp', LOG_LEVEL: 'warn' },
      async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok,
      ROOT,
    );
    servers.push(connector);
    udp = radiusClient(radiusPort);
    await udp.open(concurrency);
    const client = udp;

    apiClient = createApiClient({ apiUrl: app.url, apiKey: data.apiKey, resourceId: data.successResourceId, timeoutMs: 5000 });
    const http = apiClient;
    const direct = async (_loop: number, user: number) => (await http.authenticateOne({ login: data.logins[user]!, otp: hotp(data.seeds[user]!, counters[user]++) })).kind === 'accept';
    // The batch endpoint called directly (the connector's path without the connector), for the
    // connector's cost over the cheapest direct path.
    const directBatch = async (_loop: number, user: number) => (await http.authenticate({ login: data.logins[user]!, otp: hotp(data.seeds[user]!, counters[user]++) })).kind === 'accept';
    const viaRadius = (loop: number, user: number) => client.check(loop, data.logins[user]!, hotp(data.seeds[user]!, counters[user]++));

    const runs: Record<string, Run & { cpu_us_per_check: Record<string, number | undefined> }> = {};
    const measure = async (name: string, check: typeof direct, seconds: number) => {
      log(`${name}: ${concurrency} in flight, ${seconds} s`);
      const appCpu = startCpuCount(app.pid);
      const connectorCpu = startCpuCount(connector.pid);
      const run = await closedLoop(concurrency, options.users, seconds, check);
      const a = cpuPerRequestUs(appCpu(), run.checks);
      const c = cpuPerRequestUs(connectorCpu(), run.checks);
      const cpu = { app: a.server, postgres: a.postgres, connector: c.server, load_generator: a.load_generator };
      const total = Object.values(cpu).reduce<number>((s, v) => s + (v ?? 0), 0);
      runs[name] = { ...run, cpu_us_per_check: { ...cpu, total } };
      log(`${name}: ${run.rps} checks/s, p50 ${run.p50_ms} ms, p99 ${run.p99_ms} ms, errors ${run.errors}; CPU per check: app ${cpu.app} µs, PostgreSQL ${cpu.postgres} µs, connector ${cpu.connector} µs, load ${cpu.load_generator} µs, total ${total} µs`);
      await new Promise((r) => setTimeout(r, 500));
    };

    // Alternate the two paths so drift on a shared machine hits both alike.
    await measure('api warm-up', direct, warmupS);
    await measure('radius warm-up', viaRadius, warmupS);
    await measure('api', direct, durationS);
    await measure('radius', viaRadius, durationS);
    await measure('api batch', directBatch, durationS);
    await measure('api (again)', direct, durationS);
    await measure('radius (again)', viaRadius, durationS);
    await measure('api batch (again)', directBatch, durationS);

    const mean = (a: number, b: number) => Math.round((a + b) / 2);
    const api = { rps: mean(runs.api!.rps, runs['api (again)']!.rps), cpu: mean(runs.api!.cpu_us_per_check.total!, runs['api (again)']!.cpu_us_per_check.total!), p50: (runs.api!.p50_ms + runs['api (again)']!.p50_ms) / 2 };
    const rad = { rps: mean(runs.radius!.rps, runs['radius (again)']!.rps), cpu: mean(runs.radius!.cpu_us_per_check.total!, runs['radius (again)']!.cpu_us_per_check.total!), p50: (runs.radius!.p50_ms + runs['radius (again)']!.p50_ms) / 2 };
    const batchCpu = mean(runs['api batch']!.cpu_us_per_check.total!, runs['api batch (again)']!.cpu_us_per_check.total!);
    const connectorCpu = mean(runs.radius!.cpu_us_per_check.connector!, runs['radius (again)']!.cpu_us_per_check.connector!);
    const pct = (x: number) => Math.round(x * 1000) / 10;
    const { rows: [pgVersion] } = await db.raw('SHOW server_version');
    return {
      api_checks_per_s: api.rps,
      radius_checks_per_s: rad.rps,
      // The figure: what a check through the connector costs more than one straight to the API.
      added_cpu_per_check_pct: pct(rad.cpu / api.cpu - 1),
      throughput_loss_pct: pct(1 - rad.rps / api.rps),
      added_p50_ms: Math.round((rad.p50 - api.p50) * 10) / 10,
      // The same checks sent straight to the batch endpoint the connector uses: what the connector
      // costs on top of the cheapest direct path.
      added_cpu_vs_batch_api_pct: pct(rad.cpu / batchCpu - 1),
      connector_own_cpu_us_per_check: connectorCpu,
      cpu_us_per_check: { api: api.cpu, api_batch: batchCpu, radius: rad.cpu },
      errors: Object.values(runs).reduce((s, r) => s + r.errors, 0),
      concurrency,
      duration_s: durationS,
      machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, node: process.version, postgres: pgVersion.server_version, load_tool: 'closed loop in the bench process: the connector\'s HTTP client (node:http, keep-alive) for the API, dgram + radius package for RADIUS' },
      runs,
      measured_at: new Date().toISOString(),
    };
  } finally {
    udp?.close();
    apiClient?.close();
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    await db.destroy();
  }
}
