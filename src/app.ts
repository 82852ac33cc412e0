/**
 * Builds the Express app from its services: three surfaces (/admin HTML, /api/v1 JSON, the
 * portal), static files, health and metrics. Tests build exactly this app.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import cookieParser from 'cookie-parser';
import { pinoHttp } from 'pino-http';
import { redactRequest } from './web/log-redaction';
import { randomUUID } from 'node:crypto';
import type { Services } from './services';
import { createAdminRouter } from './admin/admin.router';
import { createApiRouter } from './api/api.router';
import { createPortalSurface, isPortalDomainHost, notFound } from './portal/portal.router';
import { purgeOldWindows } from './rate-limits/rate-limit.repository';
import { createHealthRouter } from './web/health';
import { PgSessionStore } from './web/session-store';
import { createCsrf } from './web/csrf';
import { createViewEngine, VIEWS_DIR } from './web/views';
import { htmlErrorHandler } from './web/error-handler';
import { tokenImportUpload } from './admin/token-imports.controller';
import { userImportUpload } from './admin/user-imports.controller';
import { refuseBadInput } from './web/input-guard';
import { labelRoute, recordHttpDuration } from './metrics/http-metrics';
import { createOpsRouter } from './ops/ops.router';
import './web/types';

const require = createRequire(import.meta.url);
const HTMX_FILE = require.resolve('htmx.org/dist/htmx.min.js');
// The package exports no subpaths: its UMD bundle sits beside the CommonJS entry.
const WEBAUTHN_BROWSER_FILE = path.resolve(path.dirname(require.resolve('@simplewebauthn/browser')), '../dist/bundle/index.umd.min.js');
const STATIC_DIR = path.resolve(VIEWS_DIR, '../static');

export function createApp(services: Services): express.Express {
  const { config, log } = services;
  const app = express();
  app.set('eta', createViewEngine(config.isProduction));
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // No ETags for generated answers: API answers are no-store, pages carry per-session form tokens,
  // and hashing every body cost the validation hot path time (static files keep their own ETags).
  app.set('etag', false);

  app.use(recordHttpDuration(services.metrics));
  app.use((req, res, next) => {
    req.requestId = req.get('x-request-id')?.slice(0, 64) || randomUUID();
    res.set('X-Request-Id', req.requestId);
    next();
  });
  // Request logs are info lines: below that level pino-http would only spend time on every request
  // (unexpected errors are logged by the error handlers with the request id either way).
  if (log.isLevelEnabled('info')) {
    app.use(pinoHttp({ logger: log, genReqId: (req) => (req as express.Request).requestId ?? randomUUID(), autoLogging: { ignore: (req) => req.url === '/healthz' }, serializers: { req: redactRequest } }));
  }
  // JSON API first: its requests (the validation hot path) skip the layers of the other surfaces,
  // helmet included: the API sets the few headers a JSON answer needs itself (api-headers.ts).
  // No cookies, no sessions, no CSRF (keys travel only in a header).
  // A portal host ({address}.{PORTAL_DOMAIN}) serves its portal and static files only: the API,
  // health and metrics answer on the service's own host (a string test on the Host, no lookup).
  const onPortalHost = (req: express.Request) => isPortalDomainHost(req.get('host'), config.portalDomain);
  const api = createApiRouter(services);
  app.use('/api/v1', (req, res, next) => (onPortalHost(req) ? notFound(res) : api(req, res, next)));

  // Operators' dashboard: its own authentication and headers (ops.router.ts), on the service's own host only.
  const ops = createOpsRouter(services);
  if (ops) app.use('/ops', (req, res, next) => (onPortalHost(req) ? next() : ops(req, res, next)));

  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          // helmet adds upgrade-insecure-requests by default; over plain HTTP (development, tests)
          // the browser then rewrites redirects followed by htmx to https:// and every boosted form fails.
          upgradeInsecureRequests: config.isProduction ? [] : null,
        },
      },
      hsts: config.isProduction,
    }),
  );

  const health = createHealthRouter(services);
  // On a portal host /healthz, /readyz and /metrics fall through to the portal, which has no such page.
  app.use((req, res, next) => (onPortalHost(req) ? next() : health(req, res, next)));
  app.get('/static/vendor/htmx.min.js', (_req, res) => res.sendFile(HTMX_FILE, { maxAge: '7d' }));
  app.get('/static/vendor/simplewebauthn-browser.umd.min.js', (_req, res) => res.sendFile(WEBAUTHN_BROWSER_FILE, { maxAge: '7d' }));
  app.use('/static', labelRoute('/static'), express.static(STATIC_DIR, { maxAge: config.isProduction ? '1d' : 0 }));

  const store = new PgSessionStore(services.db, config.adminSession.idleMinutes * 60_000);
  const csrf = createCsrf(config.csrfSecret, config.isProduction, { cookieName: config.isProduction ? '__Host-mfa.csrf' : 'mfa.csrf' });
  const portal = createPortalSurface(services);
  const adminSession = session({
    name: config.isProduction ? '__Host-mfa.sid' : 'mfa.sid',
    secret: config.sessionSecret,
    store,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: 'lax', secure: config.isProduction, maxAge: config.adminSession.idleMinutes * 60_000, path: '/' },
  });
  app.use(cookieParser());
  app.use(express.urlencoded({ extended: false, limit: '100kb' }));
  // Every form field and query string of the console and the portals: NUL bytes, lone surrogates,
  // control characters and over-long text answer 400 naming the field, before any handler sees them.
  app.use(refuseBadInput);
  // A portal host serves its portal only: the console and sign-up never answer there.
  app.use(portal.hostGate);
  // The multipart forms (token and user imports): parsed before the CSRF check, which reads their `_csrf` field.
  // express-session sees req.session already set and does not load it twice.
  app.post('/admin/tokens/import', adminSession, tokenImportUpload(), refuseBadInput);
  app.post('/admin/users/import', adminSession, userImportUpload(), refuseBadInput);
  app.use(['/admin', '/signup'], adminSession, csrf.provideToken, csrf.protect);
  app.use(createAdminRouter(services));
  app.use('/portal', portal.pathRouter);

  app.get('/', (_req, res) => res.redirect('/admin'));
  app.use((req, res) => {
    res.status(404).type('html').send((req.app.get('eta')).render('not-found', { ...res.locals }));
  });
  app.use(htmlErrorHandler(log));

  const purge = setInterval(() => {
    store.purgeExpired().catch(() => undefined);
    purgeOldWindows(services.db).catch(() => undefined);
  }, 10 * 60_000);
  purge.unref();
  return app;
}
