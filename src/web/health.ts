/** Operator endpoints: liveness, readiness (database and Redis), Prometheus metrics. */
import { Router } from 'express';
import type { Services } from '../services';
import { metricsHandler } from '../metrics/metrics-endpoint';

export function createHealthRouter(services: Services): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {};
    try {
      await services.db.raw('select 1');
      checks.database = 'ok';
    } catch {
      checks.database = 'unreachable';
    }
    if (services.redis) {
      try {
        await services.redis.ping();
        checks.redis = 'ok';
      } catch {
        checks.redis = 'unreachable';
      }
    }
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });

  router.get('/metrics', metricsHandler(services.metrics, services.config.metricsToken));
  return router;
}
