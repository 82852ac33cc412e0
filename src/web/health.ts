/** Operator endpoints: liveness, readiness (database and Redis), Prometheus metrics. */
import { Router } from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Services } from '../services';

export function createHealthRouter(services: Services): Router {
  const router = Router();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

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

  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
