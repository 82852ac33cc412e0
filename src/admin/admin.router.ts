/** The console's route table: one line per route. Role rules are enforced again in the services. */
import { Router, type RequestHandler } from 'express';
import type { Services } from '../services';
import { createAuthController } from './auth.controller';
import { createResourcesController } from './resources.controller';
import { createActivityController } from './activity.controller';
import { createEnrollmentController } from './enrollment.controller';
import { createInvitationsController } from './invitations.controller';
import { createSelfServiceController } from './self-service.controller';
import { createUsersController } from './users.controller';
import { createAdminsController } from './admins.controller';
import { createApiKeysController } from './api-keys.controller';
import { createWebhooksController } from './webhooks.controller';
import { createAlertsController } from './alerts.controller';
import { createOutboxController } from './outbox.controller';
import { createAuditController } from './audit.controller';
import { createTokenImportsController } from './token-imports.controller';
import { createUserImportsController } from './user-imports.controller';
import { createTokensController, tokenIdParam as tokenId } from './tokens.controller';
import { createTokenPageController } from './token-page.controller';
import { requireAdmin, requireRole } from './require-admin';
import { redirect } from '../web/views';

export function createAdminRouter(services: Services): Router {
  const r = Router();
  const auth = createAuthController(services);
  const resources = createResourcesController(services);
  const activity = createActivityController(services);
  const enrollment = createEnrollmentController(services);
  const invitations = createInvitationsController(services);
  const selfService = createSelfServiceController(services);
  const users = createUsersController(services);
  const admins = createAdminsController(services);
  const keys = createApiKeysController(services);
  const hooks = createWebhooksController(services);
  const alerts = createAlertsController(services);
  const outbox = createOutboxController(services);
  const audit = createAuditController(services);
  const imports = createTokenImportsController(services);
  const userImports = createUserImportsController(services);
  const tokens = createTokensController(services);
  const tokenPage = createTokenPageController(services);
  const owner = requireRole('owner');
  const signedIn = requireAdmin(services);

  r.get('/signup', auth.signUpForm);
  r.post('/signup', auth.signUp);
  r.get('/admin/sign-in', auth.signInForm);
  r.post('/admin/sign-in', auth.signIn);
  r.get('/admin/sign-in/totp', auth.totpForm);
  r.post('/admin/sign-in/totp', auth.totp);
  r.get('/admin/sign-in/enroll', auth.enrollForm);
  r.post('/admin/sign-in/enroll', auth.enroll);
  r.post('/admin/sign-out', auth.signOut);
  r.get('/admin/invite/:token', auth.inviteForm);
  r.post('/admin/invite/:token', auth.acceptInvite);

  r.use('/admin', signedIn as RequestHandler);
  // requireAdmin has taken the flash off the session for this request; hand it on to the next page.
  r.get('/admin', (req, res) => {
    if (res.locals.flash) req.session.flash = res.locals.flash;
    redirect(req, res, '/admin/resources');
  });

  r.get('/admin/home', activity.home);
  r.get('/admin/resources', resources.list);
  r.get('/admin/resources/new', resources.newForm);
  r.post('/admin/resources', resources.create);
  r.get('/admin/resources/:id', resources.settings);
  r.post('/admin/resources/:id', resources.update);
  r.get('/admin/resources/:id/activity', activity.resourceActivity);
  r.get('/admin/resources/:id/users', resources.usersTab);
  r.get('/admin/resources/:id/users.csv', enrollment.exportCsv);
  r.get('/admin/resources/:id/users/progress', resources.progress);
  r.post('/admin/resources/:id/users', resources.assignUser);
  r.post('/admin/resources/:id/users/:userId/unassign', resources.unassignUser);
  r.post('/admin/resources/:id/users/:userId/unlock', resources.unlockUser);
  r.post('/admin/resources/:id/invitations', invitations.invite);
  r.post('/admin/resources/:id/invitations/:userId/resend', invitations.resend);
  r.post('/admin/resources/:id/invitations/:userId/cancel', invitations.cancel);
  r.get('/admin/resources/:id/self-service', selfService.general);
  r.post('/admin/resources/:id/self-service', selfService.saveGeneral);
  r.get('/admin/resources/:id/self-service/actions', selfService.actions);
  r.post('/admin/resources/:id/self-service/actions', selfService.saveActions);
  r.get('/admin/resources/:id/self-service/enrollment', selfService.enrollment);
  r.post('/admin/resources/:id/self-service/enrollment', selfService.saveEnrollment);
  r.get('/admin/resources/:id/delete', resources.deleteConfirm);
  r.post('/admin/resources/:id/delete', resources.remove);

  r.get('/admin/users', users.list);
  r.get('/admin/users/new', users.newForm);
  // Declared before /admin/users/:id, so "import" is never taken for a user id.
  r.get('/admin/users/import', userImports.form);
  r.post('/admin/users/import', userImports.create);
  r.get('/admin/users/imports/:id', userImports.show);
  r.get('/admin/users/imports/:id/report.csv', userImports.report);
  r.post('/admin/users', users.create);
  r.get('/admin/users/:id', users.show);
  r.post('/admin/users/:id', users.update);
  r.post('/admin/users/:id/block', users.block);
  r.post('/admin/users/:id/unblock', users.unblock);
  r.post('/admin/users/:id/resources', users.assignResource);
  r.post('/admin/users/:id/resources/:resourceId/unassign', users.unassignResource);
  r.post('/admin/users/:id/resources/:resourceId/unlock', users.unlock);
  r.get('/admin/users/:id/delete', users.deleteConfirm);
  r.post('/admin/users/:id/delete', users.remove);

  // Declared before any /admin/tokens/:id route, so "import" is never taken for a token id.
  r.get('/admin/tokens/import', imports.form);
  r.post('/admin/tokens/import', imports.create);
  r.get('/admin/tokens/imports/:id', imports.show);

  // `tokenId` passes a non-UUID id on to the next route (or the 404 page).
  r.get('/admin/tokens', tokens.list);
  r.get('/admin/tokens/new', tokens.newForm);
  r.post('/admin/tokens', tokens.create);
  r.get('/admin/tokens/:id', tokenId, tokenPage.show);
  r.post('/admin/tokens/:id', tokenId, tokenPage.rename);
  r.get('/admin/tokens/:id/created', tokenId, tokens.created);
  r.post('/admin/tokens/:id/enable', tokenId, tokenPage.enable);
  r.post('/admin/tokens/:id/disable', tokenId, tokenPage.disable);
  r.post('/admin/tokens/:id/pin', tokenId, tokenPage.setPin);
  r.post('/admin/tokens/:id/pin/clear', tokenId, tokenPage.clearPin);
  r.post('/admin/tokens/:id/resync', tokenId, tokenPage.resync);
  r.post('/admin/tokens/:id/drift/reset', tokenId, tokenPage.resetDrift);
  r.post('/admin/tokens/:id/failures/reset', tokenId, tokenPage.resetFailures);
  r.post('/admin/tokens/:id/owner', tokenId, tokenPage.setOwner);
  r.post('/admin/tokens/:id/owner/remove', tokenId, tokenPage.removeOwner);
  r.post('/admin/tokens/:id/resources', tokenId, tokenPage.assignResource);
  r.post('/admin/tokens/:id/resources/:resourceId/unassign', tokenId, tokenPage.unassignResource);
  r.get('/admin/tokens/:id/delete', tokenId, tokenPage.deleteConfirm);
  r.post('/admin/tokens/:id/delete', tokenId, tokenPage.remove);

  r.get('/admin/admins', owner, admins.list);
  r.post('/admin/admins', owner, admins.invite);
  r.post('/admin/admins/:id/role', owner, admins.changeRole);
  r.get('/admin/admins/:id/resources', owner, admins.resourcesForm);
  r.post('/admin/admins/:id/resources', owner, admins.setResources);
  r.get('/admin/admins/:id/disable', owner, admins.disableConfirm);
  r.post('/admin/admins/:id/disable', owner, admins.disable);
  r.post('/admin/admins/:id/enable', owner, admins.enable);
  r.post('/admin/admins/:id/unlock', owner, admins.unlock);

  r.get('/admin/api-keys', owner, keys.list);
  r.post('/admin/api-keys', owner, keys.create);
  r.get('/admin/api-keys/:id/revoke', owner, keys.revokeConfirm);
  r.post('/admin/api-keys/:id/revoke', owner, keys.revoke);
  r.get('/admin/webhooks', owner, hooks.list);
  r.post('/admin/webhooks', owner, hooks.create);
  r.get('/admin/webhooks/:id', owner, hooks.show);
  r.post('/admin/webhooks/:id', owner, hooks.update);
  r.post('/admin/webhooks/:id/rotate-secret', owner, hooks.rotate);
  r.get('/admin/webhooks/:id/delete', owner, hooks.deleteConfirm);
  r.post('/admin/webhooks/:id/delete', owner, hooks.remove);
  r.post('/admin/webhooks/:id/deliveries/:deliveryId/redeliver', owner, hooks.redeliver);
  r.get('/admin/alerts', alerts.show);
  r.post('/admin/alerts', alerts.save);

  r.get('/admin/outbox', outbox.list);
  r.get('/admin/outbox/:id', outbox.show);

  r.get('/admin/audit', audit.list);
  r.get('/admin/audit/export.csv', audit.exportCsv);
  return r;
}
