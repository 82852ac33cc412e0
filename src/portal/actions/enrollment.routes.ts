/** Portal self-service routes for this group of actions, relative to `{portal}/actions`. */
import { Router } from 'express';
import type { Services } from '../../services';
import type { createActionGate } from '../action-gate';

export function enrollmentRoutes(_services: Services, _gates: ReturnType<typeof createActionGate>): Router {
  const r = Router();
  return r;
}
