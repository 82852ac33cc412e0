/**
 * The end-user Self-Service Portal surface. Portal configuration and sign-in arrive with the
 * self-service issue; until then every portal address answers the plain 404 page, as an
 * unknown or deactivated address will.
 */
import { Router } from 'express';
import type { Services } from '../services';

export function createPortalRouter(_services: Services): Router {
  const router = Router();
  router.use('/portal', (_req, res) => {
    res.status(404).type('html').send(res.app.get('eta').render('portal/not-found', {}));
  });
  return router;
}
