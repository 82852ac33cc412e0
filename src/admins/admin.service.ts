/**
 * Admin accounts: tenant sign-up and bootstrap, sign-in with password then TOTP, invitations,
 * roles. Each change is audited in its transaction.
 */
import type { Db, Queryable } from '../db/knex';
import { isUniqueViolation } from '../db/errors';
import { randomToken, sha256 } from '../lib/crypto';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../lib/errors';
import { hashPassword, passwordProblem } from '../lib/passwords';
import { parseInput } from '../lib/validation';
import { recordAudit } from '../audit/audit.repository';
import type { Actor, Role } from '../audit/actor';
import { insertApiKey } from '../api-keys/api-key.service';
import type { MessageService } from '../outbox/message.service';
import { insertTenant } from '../tenants/tenant.repository';
import * as repo from './admin.repository';
import * as scopeRepo from './admin-resources.repository';
import { inviteSchema, resourceScopeSchema, signUpSchema, ROLES, type Admin } from './admin.types';
import { requireOwner } from './permissions';

const INVITE_DAYS = 7;

export type AdminService = ReturnType<typeof createAdminService>;

function emailTaken(): ConflictError {
  return new ConflictError('An account with this email already exists.', { email: 'An account with this email already exists.' });
}

const ONLY_ADMINS = 'Only admins can be limited to selected resources: owners and auditors always see every resource.';

/**
 * Writes an admin's resource scope (issue 12 §5) inside the caller's transaction and returns the
 * ids kept. Only role `admin` can be limited; ids must be the tenant's resources.
 */
async function writeResourceScope(trx: Queryable, tenantId: string, target: Pick<Admin, 'id' | 'role'>, limited: boolean, resourceIds: readonly string[]): Promise<string[]> {
  if (limited && target.role !== 'admin') throw new ValidationError({ limited: ONLY_ADMINS }, ONLY_ADMINS);
  const ids = limited ? await scopeRepo.existingResourceIds(trx, tenantId, resourceIds) : [];
  if (limited && ids.length !== new Set(resourceIds).size) {
    throw new ValidationError({ resourceIds: 'Choose resources from the list: one of them no longer exists.' }, 'Choose resources from the list: one of them no longer exists.');
  }
  await scopeRepo.replaceResourceScope(trx, tenantId, target.id, limited, ids);
  return ids;
}

function checkPassword(password: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new ValidationError({ password: problem });
}

export function createAdminService(db: Db, messages: MessageService, baseUrl: string) {
  /** A limited admin with its resource ids (writeResourceScope keeps the flag for role admin only). */
  async function withResourceIds(admin: Admin): Promise<Admin> {
    if (admin.limitedToResources) admin.resourceIds = await scopeRepo.resourceIdsOf(db, admin.tenantId, admin.id);
    return admin;
  }

  return {
    /** Creates a tenant with its owner. With `withApiKey`, also a first API key (CLI bootstrap). */
    async createTenant(input: { organisation: string; email: string; password: string }, options: { withApiKey?: boolean; ip?: string } = {}) {
      const data = parseInput(signUpSchema, input);
      checkPassword(data.password);
      const passwordHash = await hashPassword(data.password);
      try {
        return await db.transaction(async (trx) => {
          const tenant = await insertTenant(trx, data.organisation);
          const admin = await repo.insertAdmin(trx, tenant.id, { email: data.email, role: 'owner', password_hash: passwordHash });
          const actor: Actor = { tenantId: tenant.id, type: 'system', label: options.withApiKey ? 'cli' : 'sign-up', ip: options.ip };
          await recordAudit(trx, actor, { action: 'tenant.create', targetType: 'tenant', targetId: tenant.id, details: { name: tenant.name } });
          await recordAudit(trx, actor, { action: 'admin.create', targetType: 'admin', targetId: admin.id, details: { email: admin.email, role: 'owner' } });
          let apiKey: string | undefined;
          if (options.withApiKey) {
            const created = await insertApiKey(trx, tenant.id, 'Bootstrap key', admin.id);
            apiKey = created.plain;
            await recordAudit(trx, actor, { action: 'api_key.create', targetType: 'api_key', targetId: created.key.id, details: { name: created.key.name } });
          }
          return { tenant, admin, apiKey };
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw emailTaken();
        throw err;
      }
    },

    /** The signed-in admin, or undefined when disabled since: sessions of a disabled admin stop at once. */
    async activeAdmin(tenantId: string, adminId: string): Promise<Admin | undefined> {
      const [admin, tenant] = await Promise.all([repo.findAdmin(db, tenantId, adminId), db('tenants').where({ id: tenantId }).first('disabled_at', 'name')]);
      if (!admin || admin.disabled || !tenant || tenant.disabled_at) return undefined;
      // Read on every request, so an owner's change of scope applies at the admin's next click.
      return withResourceIds(admin);
    },

    async tenantName(tenantId: string): Promise<string> {
      const row = await db('tenants').where({ id: tenantId }).first('name');
      return row?.name ?? '';
    },

    /** One admin of the tenant; another tenant's id is "not found". */
    async get(tenantId: string, adminId: string): Promise<Admin> {
      const admin = await repo.findAdmin(db, tenantId, adminId);
      if (!admin) throw new NotFoundError('Admin');
      return withResourceIds(admin);
    },

    /** The tenant's admins, each limited admin with its `resourceIds`. */
    async list(tenantId: string): Promise<Admin[]> {
      const [admins, scopes] = await Promise.all([repo.listAdmins(db, tenantId), scopeRepo.resourceIdsByAdmin(db, tenantId)]);
      return admins.map((a) => (a.limitedToResources ? { ...a, resourceIds: scopes.get(a.id) ?? [] } : a));
    },

    /**
     * Owners limit an admin to selected resources, or lift the limit (`{limited, resourceIds}`).
     * Limited to none is allowed (sees nothing). Audited with the before and after.
     */
    async setResourceScope(actor: Actor, adminId: string, input: unknown): Promise<Admin> {
      requireOwner(actor);
      const data = parseInput(resourceScopeSchema, input);
      return db.transaction(async (trx) => {
        const target = await repo.findAdmin(trx, actor.tenantId, adminId);
        if (!target) throw new NotFoundError('Admin');
        const before = target.limitedToResources ? await scopeRepo.resourceIdsOf(trx, actor.tenantId, adminId) : undefined;
        const ids = await writeResourceScope(trx, actor.tenantId, target, data.limited, data.resourceIds);
        await recordAudit(trx, actor, {
          action: 'admin.resources.change',
          targetType: 'admin',
          targetId: adminId,
          details: { email: target.email, from: before ? { limited: true, resourceIds: before } : { limited: false }, to: data.limited ? { limited: true, resourceIds: ids } : { limited: false } },
        });
        return { ...target, limitedToResources: data.limited, resourceIds: data.limited ? ids : undefined };
      });
    },

    /** Invites an admin by email; the link lets them choose a password, then enrol TOTP at first sign-in. */
    async invite(actor: Actor, input: unknown): Promise<Admin> {
      requireOwner(actor);
      const data = parseInput(inviteSchema, input);
      const token = randomToken(32);
      try {
        const { admin, dispatch } = await db.transaction(async (trx) => {
          const admin = await repo.insertAdmin(trx, actor.tenantId, {
            email: data.email,
            role: data.role,
            invite_token_hash: sha256(token),
            invite_expires_at: new Date(Date.now() + INVITE_DAYS * 86400_000),
          });
          const resourceIds = data.limited ? await writeResourceScope(trx, actor.tenantId, admin, true, data.resourceIds ?? []) : undefined;
          await recordAudit(trx, actor, { action: 'admin.invite', targetType: 'admin', targetId: admin.id, details: { email: admin.email, role: admin.role, ...(resourceIds ? { resourceIds } : {}) } });
          const { dispatch } = await messages.prepare(trx, actor.tenantId, {
            recipient: admin.email,
            subject: 'You are invited to the MFA console',
            bodyText: `You have been invited as ${admin.role} to the MFA console.\n\nChoose your password here (the link works for ${INVITE_DAYS} days):\n${baseUrl}/admin/invite/${token}\n\nAfter that you will set up an authenticator app for sign-in.`,
          });
          return { admin, dispatch };
        });
        await dispatch();
        return admin;
      } catch (err) {
        if (isUniqueViolation(err)) throw emailTaken();
        throw err;
      }
    },

    async findInvite(token: string): Promise<Admin | undefined> {
      const admin = await repo.findByInviteHash(db, sha256(token));
      if (!admin || admin.inviteExpiresAt.getTime() < Date.now() || admin.disabled) return undefined;
      return admin;
    },

    async acceptInvite(token: string, password: string, name?: string): Promise<Admin> {
      const admin = await this.findInvite(token);
      if (!admin) throw new BadRequestError('This invitation link is invalid or has expired. Ask an owner for a new one.');
      checkPassword(password);
      const passwordHash = await hashPassword(password);
      return db.transaction(async (trx) => {
        const updated = await trx('admins')
          .where({ id: admin.id, invite_token_hash: sha256(token) })
          .update({ password_hash: passwordHash, name: name?.trim() || null, invite_token_hash: null, invite_expires_at: null, updated_at: trx.fn.now() });
        if (updated !== 1) throw new BadRequestError('This invitation link is invalid or has expired.');
        await recordAudit(trx, { tenantId: admin.tenantId, type: 'admin', id: admin.id }, { action: 'admin.invite.accept', targetType: 'admin', targetId: admin.id });
        return admin;
      });
    },

    async changeRole(actor: Actor, adminId: string, role: string): Promise<Admin> {
      requireOwner(actor);
      if (!(ROLES as readonly string[]).includes(role)) throw new ValidationError({ role: 'Choose owner, admin or auditor.' });
      return db.transaction(async (trx) => {
        const target = await repo.findAdmin(trx, actor.tenantId, adminId);
        if (!target) throw new NotFoundError('Admin');
        if (target.role === 'owner' && role !== 'owner' && (await repo.countActiveOwners(trx, actor.tenantId)) <= 1) {
          throw new ForbiddenError('The tenant needs at least one owner.');
        }
        const updated = (await repo.updateAdmin(trx, actor.tenantId, adminId, { role: role as Role }))!;
        // Only role admin can be limited: another role drops the limit, so a later demotion starts from "all".
        const dropScope = role !== 'admin' && target.limitedToResources;
        if (dropScope) await scopeRepo.replaceResourceScope(trx, actor.tenantId, adminId, false, []);
        await recordAudit(trx, actor, { action: 'admin.role.change', targetType: 'admin', targetId: adminId, details: { from: target.role, to: role, ...(dropScope ? { resourceLimitRemoved: true } : {}) } });
        if (dropScope) return { ...updated, limitedToResources: false };
        return updated;
      });
    },

    async setDisabled(actor: Actor, adminId: string, disabled: boolean): Promise<Admin> {
      requireOwner(actor);
      if (adminId === actor.id) throw new ForbiddenError('You cannot disable your own account.');
      return db.transaction(async (trx) => {
        const target = await repo.findAdmin(trx, actor.tenantId, adminId);
        if (!target) throw new NotFoundError('Admin');
        if (disabled && target.role === 'owner' && (await repo.countActiveOwners(trx, actor.tenantId)) <= 1) {
          throw new ForbiddenError('The tenant needs at least one owner.');
        }
        const updated = (await repo.updateAdmin(trx, actor.tenantId, adminId, { disabled_at: disabled ? new Date() : null }))!;
        await recordAudit(trx, actor, { action: disabled ? 'admin.disable' : 'admin.enable', targetType: 'admin', targetId: adminId });
        return updated;
      });
    },
  };
}
