/**
 * The end-user Self-Service Portal surface (SPEC §5). A request is resolved to its resource by
 * `/portal/{address}/` or, when PORTAL_DOMAIN is set, by the `{address}.{PORTAL_DOMAIN}` host;
 * a portal host serves nothing but its portal (the console stays off it). Unknown or deactivated
 * addresses answer the plain 404 page. Each portal has its own session cookie and CSRF cookie on
 * its own path, and its state names the resource (portal-session.ts).
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Services } from '../services';
import { DomainError } from '../lib/errors';
import { StepUpRequiredError } from '../portal-actions/portal-user';
import { render } from '../web/views';
import { clientErrorOf, unavailableErrorOf } from '../web/error-handler';
import { createCsrf } from '../web/csrf';
import { createPortalSessions } from './portal-session';
import { createPortalSignInController } from './sign-in.controller';
import { createPortalDashboardController } from './dashboard.controller';
import { createActionGate } from './action-gate';
import { profileActionRoutes } from './actions/profile.routes';
import { tokenActionRoutes } from './actions/token.routes';
import { enrollmentRoutes } from './actions/enrollment.routes';
import { webauthnJson, webauthnRoutes } from './actions/webauthn.routes';
import { environmentRoutes } from './actions/environment.routes';
import { provideEnvironments } from './complete-sign-in';

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

function notFound(res: Response): void {
  res.status(404).type('html').send(res.app.get('eta').render('portal/not-found', {}));
}

export function createPortalSurface(services: Services) {
  const { selfService, portalSignIn, config, db, log } = services;
  const secure = config.isProduction;
  const sessions = createPortalSessions(db, config.sessionSecret, secure);
  const csrf = createCsrf(config.csrfSecret, secure, { cookieName: secure ? '__Secure-mfa.portal.csrf' : 'mfa.portal.csrf', pathOf: (req) => req.portal!.base });
  const signIn = createPortalSignInController(portalSignIn, config);
  const gates = createActionGate(portalSignIn, db);
  const dashboard = createPortalDashboardController(gates);

  // Paths relative to the portal's base. Every page carries the portal for the layout.
  const routes = Router();
  routes.use(sessions.middleware, sessions.bind, (req, res, next) => {
    res.locals.portal = req.portal!.resource;
    res.locals.base = req.portal!.base;
    res.set('Cache-Control', 'no-store');
    next();
  });
  routes.use(csrf.provideToken, csrf.protect);
  routes.use(provideEnvironments(services));
  routes.get('/', signIn.loginForm, gates.signedInUser, dashboard.dashboard);
  routes.post('/sign-in', signIn.login);
  routes.get('/sign-in/verify', signIn.verifyForm);
  routes.post('/sign-in/verify', signIn.verify);
  routes.post('/sign-in/resend', signIn.resend);
  routes.get('/sign-in/second-factor', signIn.secondFactorForm);
  routes.post('/sign-in/second-factor', signIn.secondFactor);
  routes.post('/sign-in/second-factor/send', signIn.sendCode);
  routes.post('/sign-in/second-factor/webauthn/options', signIn.webauthnOptions);
  routes.post('/sign-in/second-factor/webauthn', webauthnJson, signIn.webauthnSecondFactor);
  routes.post('/sign-out', signIn.signOut);
  routes.get('/step-up', gates.signedInUser, signIn.stepUpForm);
  routes.post('/step-up', gates.signedInUser, signIn.stepUp);
  routes.post('/step-up/send', gates.signedInUser, signIn.stepUpSend);
  routes.post('/step-up/webauthn/options', gates.signedInUser, signIn.stepUpWebauthnOptions);
  routes.post('/step-up/webauthn', webauthnJson, gates.signedInUser, signIn.stepUpWebauthn);
  // Each action's own routes (they gate themselves); anything else there is not an action.
  routes.use('/actions', profileActionRoutes(services, gates), tokenActionRoutes(services, gates), webauthnRoutes(services, gates), enrollmentRoutes(services, gates), environmentRoutes(services, gates));
  routes.use('/actions', dashboard.unknownAction);
  routes.use((_req, res) => notFound(res));
  routes.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (err instanceof StepUpRequiredError) return gates.freshSecondFactor(req, res, next);
    // Domain errors and client errors of the middleware (CSRF, body parsing) keep their 4xx.
    // A database that cannot answer is a 503 (SEC-09), not a crash.
    const client = err instanceof DomainError ? { status: err.status, message: err.message } : (clientErrorOf(err) ?? unavailableErrorOf(err, log, req.requestId));
    if (!client) log.error({ err, requestId: req.requestId }, 'unhandled portal error');
    const status = client?.status ?? 500;
    const text = client?.message ?? `Something went wrong on our side. Reference: ${req.requestId}`;
    if (res.headersSent) return;
    render(req, res, { page: 'portal/message' }, { title: 'Error', heading: status === 403 ? 'Please try again' : 'Something went wrong', text, back: true }, status);
  });

  async function enter(address: string, base: string, req: Request, res: Response, next: NextFunction) {
    const resource = await selfService.findPortal(address);
    if (!resource) return notFound(res);
    req.portal = { resource, base };
    routes(req, res, next);
  }

  /** On a portal host everything belongs to the portal; other hosts pass through. */
  async function hostGate(req: Request, res: Response, next: NextFunction) {
    const address = addressFromHost(req.get('host'), config.portalDomain);
    if (!address) return next();
    await enter(address, '/', req, res, () => notFound(res));
  }

  const pathRouter = Router();
  pathRouter.use('/:address', async (req, res, next) => {
    const address = String(req.params.address);
    const base = `/portal/${encodeURIComponent(address)}/`;
    if (req.path === '/' && !req.originalUrl.split('?')[0].endsWith('/')) return res.redirect(301, base);
    await enter(address, base, req, res, () => notFound(res));
  });
  pathRouter.use((_req, res) => notFound(res));

  return { hostGate, pathRouter };
}
