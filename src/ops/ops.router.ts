/**
 * The operators' surface (issue 13 §4): /ops/queues, the BullMQ dashboard (@bull-board/express),
 * where operators see jobs per queue and state and retry failed ones. Without Redis, jobs run in
 * the web process: the page says so and shows that queue's counts. Without OPS_USERNAME and
 * OPS_PASSWORD the surface does not exist (404).
 */
import { Router, type Request, type Response } from 'express';
import helmet from 'helmet';
import { Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Services } from '../services';
import { QUEUES } from '../jobs/job-names';
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
    const board = new ExpressAdapter();
    board.setBasePath(OPS_QUEUES_PATH);
    // Queue handles of their own on the shared connection (closing a Queue leaves a shared connection open).
    const queues = QUEUES.map((name) => new Queue(name, { connection: services.redis!, prefix: config.queuePrefix, skipWaitingForReady: true }));
    for (const queue of queues) queue.on('error', () => undefined);
    createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board, options: { uiConfig: { boardTitle: 'MFA jobs' } } });
    router.use('/queues', board.getRouter());
  } else {
    router.get('/queues', async (req: Request, res: Response) => {
      const counts = await services.queue.counts();
      res.type('html').send(req.app.get('eta').render('ops/in-process', { title: 'Background jobs', counts }));
    });
  }
  return router;
}
