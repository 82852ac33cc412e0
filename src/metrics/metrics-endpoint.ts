/**
 * GET /metrics for the web and the worker process. With METRICS_TOKEN set (production requires it)
 * the scraper must send `Authorization: Bearer <token>`, compared in constant time.
 */
import type { Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { safeEqual } from '../lib/crypto';
import type { Metrics } from './metrics';

function metricsAuthorized(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const match = /^Bearer (.+)$/i.exec(authorization ?? '');
  return !!match && safeEqual(match[1], token);
}

/** Writes the metrics, or 401 with a clear message; usable from Express and from a bare node:http server. */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: Metrics, token: string | undefined): Promise<void> {
  if (!metricsAuthorized(req.headers.authorization, token)) {
    res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' });
    res.end('Unauthorized: /metrics needs Authorization: Bearer <METRICS_TOKEN>\n');
    return;
  }
  const text = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
  res.end(text);
}

export function metricsHandler(metrics: Metrics, token: string | undefined) {
  return (req: Request, res: Response) => serveMetrics(req, res, metrics, token);
}
