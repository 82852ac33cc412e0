/** The connector's own metrics and its operator HTTP endpoints: GET /healthz and GET /metrics. */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

export interface RadiusMetrics {
  registry: Registry;
  /** result: accept, reject, challenge, duplicate, unavailable, or why a request was dropped. */
  requests: Counter<'result'>;
}

export function createRadiusMetrics(): RadiusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'mfa_radius_requests_total', help: 'RADIUS requests by result', labelNames: ['result'], registers: [registry] });
  return { registry, requests };
}

export async function startHealthServer(metrics: RadiusMetrics, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (req.method === 'GET' && req.url === '/metrics') {
      void metrics.registry.metrics().then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found"}}');
    }
  });
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}
