/** PLACEHOLDER: the JSON management API (to be implemented). */
import { Router } from 'express';
import type { Services } from '../services';

export function createApiRouter(_services: Services): Router {
  return Router();
}
