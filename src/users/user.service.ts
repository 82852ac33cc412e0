/** Rules for users: validation, password policy, uniqueness, blocking, resource assignment; audited. */
import type { Db } from '../db/knex';
import type { EnrollmentStatus } from '../invitations/enrollment-status.repository';
import { isUniqueViolation } from '../db/errors';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { hashPassword, passwordProblem } from '../lib/passwords';
import { parseInput } from '../lib/validation';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import { requireWriter } from '../admins/permissions';
import { isLimited, requireResourceInScope, requireUserInScope, userInScope, type Scope } from '../admins/resource-scope';
import type { Queryable } from '../db/knex';
import { mustFindResource } from '../resources/resource-lookup';
import * as repo from './user.repository';
import { unlock as clearLock } from '../validation/lockout.repository';
import { userCreateSchema, userPatchSchema, type User, type UserResourceAssignment } from './user.types';

export type UserService = ReturnType<typeof createUserService>;

function loginTaken(): ConflictError {
  return new ConflictError('Another user already has this login.', { login: 'Another user already has this login.' });
}

async function passwordHashFor(password: string | null | undefined): Promise<string | null | undefined> {
  if (password === undefined || password === null || password === '') return password === null ? null : undefined;
  const problem = passwordProblem(password);
  if (problem) throw new ValidationError({ password: problem });
  return hashPassword(password);
}

export function createUserService(db: Db) {
  /** The user, or NotFound for another tenant's user and one outside a limited admin's scope. */
  async function mustFindUser(scope: Scope, id: string, q: Queryable = db): Promise<User> {
    const user = await repo.findUser(q, scope.tenantId, id);
    if (!user || !(await userInScope(q, scope, user.id))) throw new NotFoundError('User');
    return user;
  }

  /**
   * The resources a new user joins. A limited admin must name at least one of theirs (a user with
   * none would be outside their scope the moment it exists); others may name none.
   */
  async function initialResources(q: Queryable, actor: Actor, resourceIds: readonly string[]) {
    const ids = [...new Set(resourceIds)];
    if (isLimited(actor) && ids.length === 0) {
      const message = 'Choose at least one of your resources for this user: you manage only the users of your resources.';
      throw new ValidationError({ resourceIds: message }, message);
    }
    return Promise.all(ids.map((id) => mustFindResource(q, actor, id)));
  }

  /**
   * The resource and the user of a membership change, both in the actor's scope: a limited admin
   * reaches only users already in their scope, also to add them to another of their resources.
   */
  async function memberPair(trx: Queryable, actor: Actor, resourceId: string, userId: string) {
    const [resource, user] = await Promise.all([mustFindResource(trx, actor, resourceId), repo.findUser(trx, actor.tenantId, userId)]);
    if (!user || !(await userInScope(trx, actor, user.id))) throw new NotFoundError('User');
    return { resource, user };
  }

  async function setBlocked(actor: Actor, id: string, blocked: boolean): Promise<User> {
    requireWriter(actor);
    return db.transaction(async (trx) => {
      await requireUserInScope(trx, actor, id);
      const user = await repo.updateUser(trx, actor.tenantId, id, { blocked_at: blocked ? new Date() : null });
      if (!user) throw new NotFoundError('User');
      await recordAudit(trx, actor, { action: blocked ? 'user.block' : 'user.unblock', targetType: 'user', targetId: id });
      return user;
    });
  }

  return {
    /** Creates a user, assigned at once to `options.resourceIds` (required for a limited admin). */
    async create(actor: Actor, input: unknown, options: { resourceIds?: readonly string[] } = {}): Promise<User> {
      requireWriter(actor);
      const data = parseInput(userCreateSchema, input);
      const password_hash = await passwordHashFor(data.password);
      try {
        return await db.transaction(async (trx) => {
          const resources = await initialResources(trx, actor, options.resourceIds ?? []);
          const user = await repo.insertUser(trx, actor.tenantId, {
            login: data.login,
            email: data.email ?? null,
            phone: data.phone ?? null,
            first_name: data.firstName ?? null,
            last_name: data.lastName ?? null,
            password_hash: password_hash ?? null,
          });
          await recordAudit(trx, actor, { action: 'user.create', targetType: 'user', targetId: user.id, details: { login: user.login } });
          for (const resource of resources) {
            await repo.insertAssignment(trx, actor.tenantId, resource.id, user.id);
            await recordAudit(trx, actor, { action: 'resource.user.assign', targetType: 'user', targetId: user.id, resourceId: resource.id, details: { login: user.login, resource: resource.name } });
          }
          return user;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw loginTaken();
        throw err;
      }
    },

    /** Partial update; `password: null` removes the password, an absent password keeps it. */
    async update(actor: Actor, id: string, input: unknown): Promise<User> {
      requireWriter(actor);
      const data = parseInput(userPatchSchema, input);
      const row: repo.UserRow = {};
      if (data.login !== undefined) row.login = data.login;
      if (data.email !== undefined) row.email = data.email;
      if (data.phone !== undefined) row.phone = data.phone;
      if (data.firstName !== undefined) row.first_name = data.firstName;
      if (data.lastName !== undefined) row.last_name = data.lastName;
      const password_hash = await passwordHashFor(data.password);
      if (password_hash !== undefined) row.password_hash = password_hash;
      try {
        return await db.transaction(async (trx) => {
          await requireUserInScope(trx, actor, id);
          const user = Object.keys(row).length ? await repo.updateUser(trx, actor.tenantId, id, row) : await repo.findUser(trx, actor.tenantId, id);
          if (!user) throw new NotFoundError('User');
          const fields = Object.keys(data).filter((k) => k !== 'password' || password_hash !== undefined);
          await recordAudit(trx, actor, { action: 'user.update', targetType: 'user', targetId: id, details: { fields } });
          return user;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw loginTaken();
        throw err;
      }
    },

    get: (scope: Scope, id: string) => mustFindUser(scope, id),

    /** By login, any case; undefined also for a user outside a limited admin's scope. */
    async findByLogin(scope: Scope, login: string): Promise<User | undefined> {
      const user = await repo.findUserByLogin(db, scope.tenantId, login);
      return user && (await userInScope(db, scope, user.id)) ? user : undefined;
    },

    async list(scope: Scope, search: string, page: PageRequest): Promise<Page<User>> {
      const { items, total } = await repo.listUsers(db, scope, search.trim(), page);
      return toPage(items, total, page);
    },

    async remove(actor: Actor, id: string): Promise<void> {
      requireWriter(actor);
      await db.transaction(async (trx) => {
        const user = await mustFindUser(actor, id, trx);
        if (!(await repo.deleteUser(trx, actor.tenantId, id))) throw new NotFoundError('User');
        await recordAudit(trx, actor, { action: 'user.delete', targetType: 'user', targetId: id, details: { login: user.login } });
      });
    },

    block: (actor: Actor, id: string) => setBlocked(actor, id, true),
    unblock: (actor: Actor, id: string) => setBlocked(actor, id, false),

    /** Assigns a user to a resource of the same tenant. Idempotent; audited only when it changes something. */
    async assign(actor: Actor, resourceId: string, userId: string): Promise<void> {
      requireWriter(actor);
      await db.transaction(async (trx) => {
        const { resource, user } = await memberPair(trx, actor, resourceId, userId);
        if (await repo.insertAssignment(trx, actor.tenantId, resourceId, userId)) {
          await recordAudit(trx, actor, { action: 'resource.user.assign', targetType: 'user', targetId: userId, resourceId, details: { login: user.login, resource: resource.name } });
        }
      });
    },

    async unassign(actor: Actor, resourceId: string, userId: string): Promise<void> {
      requireWriter(actor);
      await db.transaction(async (trx) => {
        const { resource, user } = await memberPair(trx, actor, resourceId, userId);
        if (!(await repo.deleteAssignment(trx, actor.tenantId, resourceId, userId))) throw new NotFoundError('Assignment');
        await recordAudit(trx, actor, { action: 'resource.user.unassign', targetType: 'user', targetId: userId, resourceId, details: { login: user.login, resource: resource.name } });
      });
    },

    /** Clears a user's failure count and lock in a resource (admin or API unlock, SPEC §3). */
    async unlock(actor: Actor, resourceId: string, userId: string): Promise<void> {
      requireWriter(actor);
      await db.transaction(async (trx) => {
        const { resource, user } = await memberPair(trx, actor, resourceId, userId);
        if (!(await clearLock(trx, actor.tenantId, resourceId, userId))) throw new NotFoundError('Assignment');
        await recordAudit(trx, actor, { action: 'resource.user.unlock', targetType: 'user', targetId: userId, resourceId, details: { login: user.login } });
      });
    },

    /** The user's assignments; a limited admin sees those to their own resources only. */
    async assignmentsOf(scope: Scope, userId: string): Promise<UserResourceAssignment[]> {
      await mustFindUser(scope, userId);
      return repo.listAssignmentsOfUser(db, scope, userId);
    },

    /** `status` keeps the members in one enrolment state (issue 12 §4). */
    async usersOfResource(scope: Scope, resourceId: string, page: PageRequest, status?: EnrollmentStatus): Promise<Page<User>> {
      requireResourceInScope(scope, resourceId);
      const { items, total } = await repo.listUsersOfResource(db, scope.tenantId, resourceId, page, status);
      return toPage(items, total, page);
    },
  };
}
