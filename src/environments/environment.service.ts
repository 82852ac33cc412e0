/**
 * Trusted environments (SPEC §5.3 Manage User Environment, §5.4 intelligent identification).
 * Sign-in side: every completed portal sign-in notes its browser (by the hash of the device id
 * the web layer keeps in a signed cookie), emails the user about a new browser when the resource
 * asks for it, and lets a browser the user trusted skip the second factor when the resource
 * allows it. Action side: the user lists, trusts, renames and removes their trusted browsers;
 * every rule (action enabled, whose browser) is checked here, and every change is audited in its
 * transaction. Everything is scoped to the portal's tenant and resource and the signed-in user.
 */
import type { Db } from '../db/knex';
import type { Actor } from '../audit/actor';
import { recordAudit } from '../audit/audit.repository';
import { sameSecret } from '../lib/crypto';
import { ForbiddenError, NotFoundError } from '../lib/errors';
import { parseInput } from '../lib/validation';
import type { MessageService } from '../outbox/message.service';
import { actorOf, requireAction, requireFreshSecondFactor, type PortalUser } from '../portal-actions/portal-user';
import { prepareNotice } from '../portal-actions/notify';
import type { Visitor } from '../portal-sign-in/sign-in.service';
import { findResource } from '../resources/resource.repository';
import type { PortalResource } from '../selfservice/self-service.repository';
import { findUser } from '../users/user.repository';
import { recordSuccess } from '../validation/lockout.repository';
import * as repo from './environment.repository';
import { environmentLabelInput, type UserEnvironment } from './environment.types';
import { summariseUserAgent } from './user-agent';

export type EnvironmentService = ReturnType<typeof createEnvironmentService>;

export interface EnvironmentView extends UserEnvironment {
  /** The browser making this request. */
  current: boolean;
}

const ownerOf = (portal: PortalResource, userId: string): repo.Owner => ({ tenantId: portal.tenantId, resourceId: portal.id, userId });
const utc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export function createEnvironmentService(db: Db, messages: MessageService) {
  const visitorActor = (portal: PortalResource, visitor: Visitor, userId: string): Actor => ({ tenantId: portal.tenantId, type: 'user', id: userId, ip: visitor.ip, userAgent: visitor.userAgent });

  return {
    /**
     * §5.4: true when `deviceHash` is a browser this user trusted in this resource and the
     * resource lets trusted browsers skip the second factor. Then the sign-in is complete: the
     * lock counter is cleared (as a passed second factor would) and the decision audited.
     * Call only after a successful first factor that left a second factor due.
     */
    async signInByTrustedEnvironment(portal: PortalResource, visitor: Visitor, userId: string, deviceHash: string | undefined): Promise<boolean> {
      if (!deviceHash) return false;
      const resource = await findResource(db, portal.tenantId, portal.id);
      if (!resource?.trustedEnvironmentSkipsSecondFactor) return false;
      const environment = await repo.findTrusted(db, ownerOf(portal, userId), deviceHash);
      if (!environment) return false;
      await db.transaction(async (trx) => {
        await recordSuccess(trx, portal.tenantId, portal.id, userId);
        await recordAudit(trx, visitorActor(portal, visitor, userId), {
          action: 'portal.sign_in',
          targetType: 'user',
          targetId: userId,
          resourceId: portal.id,
          result: 'success',
          details: { via: 'trusted_environment', environment: environment.id },
        });
      });
      return true;
    },

    /**
     * Notes a completed sign-in from `deviceHash`. A browser new to this user in this resource is
     * audited (`portal.environment.new`) and, when the resource asks for it, the user is emailed
     * (after commit, through the email queue). Returns the browser's row.
     */
    async recordSignIn(portal: PortalResource, visitor: Visitor, userId: string, deviceHash: string): Promise<UserEnvironment> {
      const browser = summariseUserAgent(visitor.userAgent);
      const { environment, dispatch } = await db.transaction(async (trx) => {
        const seen = await repo.recordSeen(trx, ownerOf(portal, userId), deviceHash, { ip: visitor.ip, userAgentSummary: browser });
        if (!seen.created) return { environment: seen.environment, dispatch: undefined };
        const resource = await findResource(trx, portal.tenantId, portal.id);
        const user = resource?.notifyNewEnvironment ? await findUser(trx, portal.tenantId, userId) : undefined;
        const notified = Boolean(user?.email);
        const send = user?.email
          ? await prepareNotice(trx, messages, portal.tenantId, user.email, {
              subject: `New sign-in to ${portal.name}`,
              lines: [
                `New sign-in to ${portal.name} from ${browser}, IP ${visitor.ip ?? 'unknown'}, at ${utc(seen.environment.firstSeenAt)}.`,
                '',
                'This is the first sign-in from this browser. If it was you, there is nothing to do.',
              ],
            })
          : undefined;
        await recordAudit(trx, visitorActor(portal, visitor, userId), {
          action: 'portal.environment.new',
          targetType: 'user_environment',
          targetId: seen.environment.id,
          resourceId: portal.id,
          details: { browser, notified },
        });
        return { environment: seen.environment, dispatch: send };
      });
      await dispatch?.();
      return environment;
    },

    /** The user's trusted browsers in this portal, newest use first, the current one marked. */
    async list(u: PortalUser, deviceHash: string | undefined): Promise<EnvironmentView[]> {
      requireAction(u, 'manage_environment');
      const rows = await repo.listTrusted(db, ownerOf(u.portal, u.userId));
      return rows.map((e) => ({ ...e, current: sameSecret(e.deviceHash, deviceHash) }));
    },

    /**
     * Trusts the browser `deviceHash`. Only after a sign-in that included the second factor, and
     * with it still fresh (SEC-14: a trusted browser stands in for a factor).
     */
    async trust(u: PortalUser, deviceHash: string, input: { label?: unknown }): Promise<UserEnvironment> {
      requireAction(u, 'manage_environment');
      if (!u.secondFactorAt) throw new ForbiddenError('Only a sign-in with your second factor can trust this browser.');
      await requireFreshSecondFactor(db, u);
      const browser = summariseUserAgent(u.visitor.userAgent);
      const raw = typeof input.label === 'string' && input.label.trim() ? input.label : browser;
      const { label } = parseInput(environmentLabelInput, { label: raw });
      return db.transaction(async (trx) => {
        const environment = await repo.markTrusted(trx, ownerOf(u.portal, u.userId), deviceHash, label, { ip: u.visitor.ip, userAgentSummary: browser });
        await recordAudit(trx, actorOf(u), { action: 'portal.environment.trust', targetType: 'user_environment', targetId: environment.id, resourceId: u.portal.id, details: { label, browser } });
        return environment;
      });
    },

    async rename(u: PortalUser, id: string, input: { label?: unknown }): Promise<UserEnvironment> {
      requireAction(u, 'manage_environment');
      const { label } = parseInput(environmentLabelInput, { label: input.label });
      return db.transaction(async (trx) => {
        const environment = await repo.renameTrusted(trx, ownerOf(u.portal, u.userId), id, label);
        if (!environment) throw new NotFoundError('That browser');
        await recordAudit(trx, actorOf(u), { action: 'portal.environment.rename', targetType: 'user_environment', targetId: environment.id, resourceId: u.portal.id, details: { label } });
        return environment;
      });
    },

    /** One of the user's trusted browsers, for the removal confirmation. */
    async get(u: PortalUser, id: string): Promise<UserEnvironment> {
      requireAction(u, 'manage_environment');
      const environment = await repo.findTrustedById(db, ownerOf(u.portal, u.userId), id);
      if (!environment) throw new NotFoundError('That browser');
      return environment;
    },

    async remove(u: PortalUser, id: string): Promise<UserEnvironment> {
      requireAction(u, 'manage_environment');
      return db.transaction(async (trx) => {
        const environment = await repo.removeTrusted(trx, ownerOf(u.portal, u.userId), id);
        if (!environment) throw new NotFoundError('That browser');
        await recordAudit(trx, actorOf(u), { action: 'portal.environment.remove', targetType: 'user_environment', targetId: environment.id, resourceId: u.portal.id, details: { label: environment.label, browser: environment.userAgentSummary } });
        return environment;
      });
    },
  };
}
