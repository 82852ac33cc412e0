/**
 * The end-user Self-Service Portal surface (SPEC §5.1). A request is resolved to its resource by
 * `/portal/{address}/` or, when PORTAL_DOMAIN is set, by the `{address}.{PORTAL_DOMAIN}` host.
 * Unknown or deactivated addresses answer the plain 404 page. Sign-in arrives in a later slice;
 * until then an active portal says so honestly.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Services } from '../services';

/** The address label of a `{address}.{PORTAL_DOMAIN}` Host header, or undefined for any other host. */
export function addressFromHost(host: string | undefined, portalDomain: string | undefined): string | undefined {
  if (!host || !portalDomain) return undefined;
  const h = host.toLowerCase();
  // Compare with the port only when PORTAL_DOMAIN names one.
  const name = portalDomain.includes(':') ? h : h.replace(/:\d+$/, '');
  const suffix = `.${portalDomain}`;
  if (!name.endsWith(suffix)) return undefined;
  const label = name.slice(0, -suffix.length);
  return label && !label.includes('.') ? label : undefined;
}

export function createPortalRouter({ selfService, config }: Services): Router {
  const router = Router();
  const notFound = (res: Response) => {
    res.status(404).type('html').send(res.app.get('eta').render('portal/not-found', {}));
  };
  const home = async (address: string, res: Response) => {
    const portal = await selfService.findPortal(address);
    if (!portal) return notFound(res);
    res.status(200).type('html').send(res.app.get('eta').render('portal/coming-soon', { name: portal.name }));
  };

  // Subdomain form: every path on a portal host belongs to the portal.
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const address = addressFromHost(req.get('host'), config.portalDomain);
    if (!address) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') return notFound(res);
    if (req.path !== '/') return notFound(res);
    await home(address, res);
  });

  router.get('/portal/:address', async (req, res) => {
    if (!req.path.endsWith('/')) return res.redirect(301, `/portal/${encodeURIComponent(String(req.params.address))}/`);
    await home(String(req.params.address), res);
  });
  router.use('/portal', (_req, res) => notFound(res));
  return router;
}
