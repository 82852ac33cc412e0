/**
 * The JSON management API's route table (mounted at /api/v1, before sessions and CSRF): one line
 * per route. JSON in, JSON out; every error, including unknown paths and bad bodies, is JSON.
 */
import express, { Router } from 'express';
import type { Services } from '../services';
import { jsonErrorHandler } from '../web/error-handler';
import { NotFoundError } from '../lib/errors';
import { requireApiKey } from './api-auth';
import { apiHeaders } from './api-headers';
import { createApiResourcesController } from './resources.controller';
import { createApiSelfServiceController } from './self-service.controller';
import { createApiUsersController } from './users.controller';
import { createApiChallengesController } from './challenges.controller';
import { createApiTokensController } from './tokens.controller';
import { createApiAuthenticateController } from './authenticate.controller';
import { createApiTokenImportsController } from './token-imports.controller';
import { readTokenImportBody } from './token-import-body';
import { buildOpenApiDocument } from './openapi';
import { refuseBadInput } from '../web/input-guard';
import { csvUpload } from '../web/csv-upload';
import { createApiUserImportsController } from './user-imports.controller';
import { createApiInvitationsController } from './invitations.controller';
import { createApiAuditEventsController } from './audit-events.controller';
import { createApiWebhooksController } from './webhooks.controller';

export function createApiRouter(services: Services): Router {
  const r = Router();
  const resources = createApiResourcesController(services);
  const selfService = createApiSelfServiceController(services);
  const users = createApiUsersController(services);
  const challenges = createApiChallengesController(services);
  const tokens = createApiTokensController(services);
  const validation = createApiAuthenticateController(services);
  const tokenImports = createApiTokenImportsController(services);
  const userImports = createApiUserImportsController(services);
  const invitations = createApiInvitationsController(services);
  const auditEvents = createApiAuditEventsController(services);
  const webhooks = createApiWebhooksController(services);
  const openapi = buildOpenApiDocument(services.config.baseUrl);

  r.use(apiHeaders(services.config.isProduction));
  r.get('/openapi.json', (_req, res) => res.json(openapi));

  // Authenticate before parsing, so anonymous callers get a 401 and cost us no JSON parsing.
  r.use(requireApiKey(services.apiKeys));
  // The one route with a file body (up to 20 MB of CSV, not JSON): read by its own parser, before
  // the JSON parser and the input guard; the import checks each field as the guard would.
  r.post('/user-imports', csvUpload({ allowRaw: true }), userImports.create);
  r.use(express.json({ limit: '100kb' }));
  // NUL bytes, lone surrogates, control characters and over-long text answer 400 here, naming the field.
  r.use(refuseBadInput);

  // The validation hot path first: every route above it is a failed match on each check (SPEC §8).
  r.post('/resources/:id/authenticate', validation.authenticate);
  r.post('/resources/:id/authenticate/batch', validation.authenticateBatch);
  r.get('/resources', resources.list);
  r.post('/resources', resources.create);
  r.get('/resources/:id', resources.show);
  r.patch('/resources/:id', resources.update);
  r.delete('/resources/:id', resources.remove);
  r.get('/resources/:id/self-service', selfService.show);
  r.put('/resources/:id/self-service', selfService.update);
  r.get('/resources/:id/users', resources.listUsers);
  r.get('/resources/:id/enrollment', resources.enrollment);
  r.put('/resources/:id/users/:userId', resources.assignUser);
  r.delete('/resources/:id/users/:userId', resources.unassignUser);
  r.get('/resources/:id/invitations', invitations.list);
  r.post('/resources/:id/invitations', invitations.create);
  r.post('/resources/:id/invitations/:userId/resend', invitations.resend);
  r.delete('/resources/:id/invitations/:userId', invitations.cancel);
  r.post('/resources/:id/challenge', challenges.request);
  r.post('/resources/:id/users/:userId/unlock', validation.unlock);
  r.put('/resources/:id/tokens/:tokenId', tokens.assign);
  r.delete('/resources/:id/tokens/:tokenId', tokens.unassign);

  r.get('/users', users.list);
  r.post('/users', users.create);
  r.get('/users/:id', users.show);
  r.patch('/users/:id', users.update);
  r.delete('/users/:id', users.remove);
  r.post('/users/:id/block', users.block);
  r.post('/users/:id/unblock', users.unblock);
  r.get('/users/:id/resources', users.resources);

  r.get('/user-imports/:id', userImports.show);

  r.get('/tokens', tokens.list);
  r.post('/tokens', tokens.create);
  r.get('/tokens/:id', tokens.show);
  r.patch('/tokens/:id', tokens.update);
  r.delete('/tokens/:id', tokens.remove);
  r.put('/tokens/:id/pin', tokens.setPin);
  r.delete('/tokens/:id/pin', tokens.clearPin);
  r.post('/tokens/:id/resync', tokens.resync);
  r.post('/tokens/:id/reset-drift', tokens.resetDrift);
  r.post('/tokens/:id/verify', tokens.verify);
  r.get('/tokens/:id/resources', tokens.resources);

  // CSV or PSKC as the raw body or a multipart form: read here, after the key check, within the console's size limit.
  r.post('/token-imports', readTokenImportBody(), tokenImports.create);
  r.get('/token-imports/:id', tokenImports.show);

  r.get('/audit-events', auditEvents.list);
  r.get('/audit-events.csv', auditEvents.exportCsv);

  r.get('/webhooks', webhooks.list);
  r.post('/webhooks', webhooks.create);
  r.get('/webhooks/:id', webhooks.show);
  r.patch('/webhooks/:id', webhooks.update);
  r.delete('/webhooks/:id', webhooks.remove);
  r.post('/webhooks/:id/rotate-secret', webhooks.rotateSecret);
  r.get('/webhooks/:id/deliveries', webhooks.deliveries);
  r.post('/webhooks/:id/deliveries/:deliveryId/redeliver', webhooks.redeliver);

  r.use(() => {
    throw new NotFoundError('This API path');
  });
  r.use(jsonErrorHandler(services.log));
  return r;
}
