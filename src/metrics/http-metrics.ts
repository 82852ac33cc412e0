/**
 * Records http_request_duration_seconds for every request. The route label is the Express route
 * template that answered (`/api/v1/resources/:id/authenticate`), read when the answer is finished;
 * requests no route answered (static files, 404s) get a fixed label, so URLs never become labels.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Metrics } from './metrics';

export const UNMATCHED_ROUTE = 'unmatched';
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

export function recordHttpDuration(metrics: Metrics) {
  // One child per label set, found by a string key: prom-client would otherwise sort and hash the
  // label object on every observation, which was most of this middleware's cost on the validation path.
  const children = new Map<string, ReturnType<Metrics['httpDuration']['labels']>>();
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeTemplate(req, res);
      const status = STATUS_CLASSES[Math.floor(res.statusCode / 100) - 1] ?? 'other';
      const key = `${req.method} ${status} ${route}`;
      let child = children.get(key);
      if (!child) {
        child = metrics.httpDuration.labels({ method: req.method, route, status });
        children.set(key, child);
      }
      child.observe(seconds);
    });
    next();
  };
}

/** Names requests answered by middleware rather than a route (static files), whose URL must not be the label. */
export function labelRoute(label: string) {
  return (_req: Request, res: Response, next: NextFunction) => {
    res.locals.metricsRoute = label;
    next();
  };
}

function routeTemplate(req: Request, res: Response): string {
  const path = req.route?.path;
  if (typeof path === 'string') return req.baseUrl + path;
  return typeof res.locals.metricsRoute === 'string' ? res.locals.metricsRoute : UNMATCHED_ROUTE;
}
