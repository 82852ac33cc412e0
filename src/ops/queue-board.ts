/** The BullMQ dashboard (@bull-board/express) over this deployment's queues, mounted at OPS_QUEUES_PATH. */
import { Queue } from 'bullmq';
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { QUEUES } from '../jobs/job-names';

export function createQueueBoard(redis: Redis, prefix: string, basePath: string): RequestHandler {
  const board = new ExpressAdapter();
  board.setBasePath(basePath);
  // Queue handles of their own on the shared connection (closing a Queue leaves a shared connection open).
  const queues = QUEUES.map((name) => new Queue(name, { connection: redis, prefix, skipWaitingForReady: true }));
  for (const queue of queues) queue.on('error', () => undefined);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board, options: { uiConfig: { boardTitle: 'MFA jobs' } } });
  return board.getRouter();
}
