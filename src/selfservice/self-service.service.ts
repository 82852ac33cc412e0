/** Rules for a resource's Self-Service configuration (SPEC §4): validation, service-wide unique address, audit. */
import type { Db } from '../db/knex';
import { isUniqueViolation } from '../db/errors';
import { ConflictError, NotFoundError } from '../lib/errors';
import { parseInput } from '../lib/validation';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import { requireWriter } from '../admins/permissions';
import { requireResourceInScope, type Scope } from '../admins/resource-scope';
import * as repo from './self-service.repository';
import { buildPortalUrls } from './portal-url';
import { addressSchema, selfServicePatchSchema, selfServiceSchema, type PortalUrls, type SelfServiceConfig, type SelfServicePatch } from './self-service.types';

export type SelfServiceService = ReturnType<typeof createSelfServiceService>;

const ADDRESS_TAKEN = 'This address is already taken. Choose another one.';

export function createSelfServiceService(db: Db, config: { baseUrl: string; portalDomain?: string }) {
  async function save(actor: Actor, resourceId: string, patch: SelfServicePatch): Promise<SelfServiceConfig> {
    requireWriter(actor);
    requireResourceInScope(actor, resourceId);
    try {
      return await db.transaction(async (trx) => {
        const saved = await repo.updateConfig(trx, actor.tenantId, resourceId, patch);
        if (!saved) throw new NotFoundError('Resource');
        await recordAudit(trx, actor, {
          action: 'resource.self_service.update',
          targetType: 'resource',
          targetId: saved.resourceId,
          resourceId: saved.resourceId,
          details: { fields: Object.keys(patch), address: saved.address, allowedActions: saved.allowedActions, enrollmentTokenTypes: saved.enrollmentTokenTypes },
        });
        return saved;
      });
    } catch (err) {
      // The unique index spans every tenant: the holder may be a resource we cannot see.
      if (isUniqueViolation(err, 'resources_self_service_address_unique')) throw new ConflictError(ADDRESS_TAKEN, { address: ADDRESS_TAKEN });
      throw err;
    }
  }

  return {
    async get(scope: Scope, resourceId: string): Promise<SelfServiceConfig> {
      requireResourceInScope(scope, resourceId);
      const found = await repo.findConfig(db, scope.tenantId, resourceId);
      if (!found) throw new NotFoundError('Resource');
      return found;
    },

    /** Replaces the whole configuration (the API's PUT). */
    async update(actor: Actor, resourceId: string, input: unknown): Promise<SelfServiceConfig> {
      requireWriter(actor);
      return save(actor, resourceId, parseInput(selfServiceSchema, input));
    },

    /** The console's sub-tabs: each saves only its own part. */
    async updateGeneral(actor: Actor, resourceId: string, address: unknown): Promise<SelfServiceConfig> {
      requireWriter(actor);
      return save(actor, resourceId, parseInput(selfServicePatchSchema, { address }));
    },
    async updateActions(actor: Actor, resourceId: string, allowedActions: unknown): Promise<SelfServiceConfig> {
      requireWriter(actor);
      return save(actor, resourceId, parseInput(selfServicePatchSchema, { allowedActions }));
    },
    async updateEnrollment(actor: Actor, resourceId: string, enrollmentTokenTypes: unknown): Promise<SelfServiceConfig> {
      requireWriter(actor);
      return save(actor, resourceId, parseInput(selfServicePatchSchema, { enrollmentTokenTypes }));
    },

    /** The active portal at `address` (any tenant), or undefined for an unknown, malformed or deactivated one. */
    async findPortal(address: string): Promise<repo.PortalResource | undefined> {
      const parsed = addressSchema.safeParse(address);
      if (!parsed.success || !parsed.data) return undefined;
      return repo.findPortalByAddress(db, parsed.data);
    },

    /** The portal's addresses: `url` by subdomain when PORTAL_DOMAIN is set, else the path one. */
    urls(address: string): PortalUrls {
      return buildPortalUrls(config.baseUrl, config.portalDomain, address);
    },
  };
}
