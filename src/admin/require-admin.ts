/** Guards the console: a fully signed-in, still-active admin, with an idle and an absolute timeout (SEC-17). */
import type { NextFunction, Request, Response } from 'express';
import type { Services } from '../services';
import { ForbiddenError } from '../lib/errors';
import type { Role } from '../audit/actor';
import { scopeOfAdmin } from '../admins/resource-scope';

export function requireAdmin(services: Services) {
  const absoluteMs = services.config.adminSession.absoluteHours * 3600_000;
  return async (req: Request, res: Response, next: NextFunction) => {
    const { adminId, tenantId, createdAt } = req.session;
    if (!adminId || !tenantId || !createdAt || Date.now() - createdAt > absoluteMs) {
      if (adminId) req.session.destroy(() => undefined);
      const back = req.method === 'GET' ? `?next=${encodeURIComponent(req.originalUrl)}` : '';
      if (req.get('HX-Request') === 'true') {
        res.set('HX-Redirect', `/admin/sign-in${back}`).status(401).end();
      } else {
        res.redirect(303, `/admin/sign-in${back}`);
      }
      return;
    }
    const admin = await services.admins.activeAdmin(tenantId, adminId);
    if (!admin) {
      // Disabled since sign-in (SEC-15): the session ends now.
      req.session.destroy(() => res.redirect(303, '/admin/sign-in'));
      return;
    }
    req.admin = admin;
    req.actor = { tenantId, type: 'admin', id: admin.id, label: admin.email, role: admin.role, ip: req.ip, userAgent: req.get('user-agent') };
    // Limited to selected resources (issue 12 §5): the services scope every read and change by these.
    const resourceIds = scopeOfAdmin(admin);
    if (resourceIds) req.actor.resourceIds = resourceIds;
    res.locals.admin = admin;
    res.locals.tenantName = await services.admins.tenantName(tenantId);
    res.locals.canWrite = admin.role !== 'auditor';
    res.locals.isOwner = admin.role === 'owner';
    // Hides the tenant-wide pages (imports, stock, Outbox) a limited admin would get a 404 from.
    res.locals.limited = req.actor.resourceIds !== undefined;
    res.locals.currentPath = req.path;
    res.locals.flash = req.session.flash;
    delete req.session.flash;
    next();
  };
}

/** Route-level role gate for pages; services enforce the same rules again. */
export function requireRole(...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!req.admin || !roles.includes(req.admin.role)) {
      next(new ForbiddenError('Your role does not allow this.'));
      return;
    }
    next();
  };
}
