/** Rules for resources: validation, uniqueness, audit in the same transaction. */
import type { Db } from '../db/knex';
import { isUniqueViolation } from '../db/errors';
import { ConflictError, NotFoundError } from '../lib/errors';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { parseInput } from '../lib/validation';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import { requireWriter } from '../admins/permissions';
import { refuseLimitedCreate, requireResourceInScope, type Scope } from '../admins/resource-scope';
import * as repo from './resource.repository';
import { mustFindResource } from './resource-lookup';
import { RESOURCE_DEFAULTS, resourceCreateSchema, resourcePatchSchema, type Resource } from './resource.types';

export type ResourceService = ReturnType<typeof createResourceService>;

function nameTaken(): ConflictError {
  return new ConflictError('A resource with this name already exists.', { name: 'A resource with this name already exists.' });
}

export function createResourceService(db: Db) {
  return {
    /** Creates a resource in the actor's tenant. Audited in the same transaction. */
    async create(actor: Actor, input: unknown): Promise<Resource> {
      requireWriter(actor);
      // 403, not 404: the page exists, and the admin should know why and whom to ask.
      refuseLimitedCreate(actor, 'You manage selected resources only, so a new resource would be outside them: ask an owner to create it and add it to your resources.');
      const data = { ...RESOURCE_DEFAULTS, ...parseInput(resourceCreateSchema, input) };
      try {
        return await db.transaction(async (trx) => {
          const resource = await repo.insertResource(trx, actor.tenantId, data);
          await recordAudit(trx, actor, { action: 'resource.create', targetType: 'resource', targetId: resource.id, resourceId: resource.id, details: { name: resource.name } });
          return resource;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw nameTaken();
        throw err;
      }
    },

    async update(actor: Actor, id: string, input: unknown): Promise<Resource> {
      requireWriter(actor);
      requireResourceInScope(actor, id);
      const patch = parseInput(resourcePatchSchema, input);
      try {
        return await db.transaction(async (trx) => {
          const resource = await repo.updateResource(trx, actor.tenantId, id, patch);
          if (!resource) throw new NotFoundError('Resource');
          await recordAudit(trx, actor, { action: 'resource.update', targetType: 'resource', targetId: id, resourceId: id, details: { fields: Object.keys(patch) } });
          return resource;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw nameTaken();
        throw err;
      }
    },

    /** NotFound for another tenant's resource and for one outside a limited admin's scope. */
    async get(scope: Scope, id: string): Promise<Resource> {
      return mustFindResource(db, scope, id);
    },

    async list(scope: Scope, search: string, page: PageRequest): Promise<Page<repo.ResourceListItem>> {
      const { items, total } = await repo.listResources(db, scope, search.trim(), page);
      return toPage(items, total, page);
    },

    /**
     * Id and name of every resource of the scope by name, for pickers (no member counts). All of
     * them: the admin scope form replaces an admin's whole scope with the boxes ticked, so a
     * resource left off the list would be dropped from the scope on save.
     */
    async options(scope: Scope): Promise<repo.ResourceOption[]> {
      return repo.listResourceOptions(db, scope);
    },

    async remove(actor: Actor, id: string): Promise<void> {
      requireWriter(actor);
      await db.transaction(async (trx) => {
        const resource = await mustFindResource(trx, actor, id);
        if (!(await repo.deleteResource(trx, actor.tenantId, id))) throw new NotFoundError('Resource');
        await recordAudit(trx, actor, { action: 'resource.delete', targetType: 'resource', targetId: id, details: { name: resource.name } });
      });
    },
  };
}
