/**
 * The operators' surface (issue 13 §4): /ops/queues, the BullMQ dashboard (@bull-board/express),
 * where operators see jobs per queue and state and retry failed ones. Without Redis, jobs run in
 * the web process: the page says so and shows that queue's counts. Without OPS_USERNAME and
 * OPS_PASSWORD the surface does not exist (404).
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Services } from '../services';
import { requireOperator, sameOriginChanges } from './operator-auth';

export const OPS_QUEUES_PATH = '/ops/queues';

export function createOpsRouter(services: Services): Router | undefined {
  const { config } = services;
  if (!config.ops) return undefined;
  const router = Router();
  router.use(
    requireOperator(config.ops),
    // The dashboard's React bundle sets inline styles; scripts stay same-origin only.
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          frameAncestors: ["'none'"],
          objectSrc: ["'none'"],
          upgradeInsecureRequests: config.isProduction ? [] : null,
        },
      },
      hsts: config.isProduction,
    }),
    (_req, res, next) => {
      res.set('Cache-Control', 'no-store');
      next();
    },
    sameOriginChanges,
  );

  if (services.redis) {
    const redis = services.redis;
    // Loaded at the first visit: operators are rare visitors, and every web process would pay its memory.
    let board: Promise<RequestHandler> | undefined;
    router.use('/queues', (req, res, next) => {
      board ??= import('./queue-board').then(({ createQueueBoard }) => createQueueBoard(redis, config.queuePrefix, OPS_QUEUES_PATH));
      board.then((handler) => handler(req, res, next), next);
    });
  } else {
    router.get('/queues', async (req: Request, res: Response) => {
      const counts = await services.queue.counts();
      res.type('html').send(req.app.get('eta').render('ops/in-process', { title: 'Background jobs', counts }));
    });
  }
  return router;
}
