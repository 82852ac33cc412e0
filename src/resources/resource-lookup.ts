/**
 * The one lookup of a resource for a service: in the actor's scope (a limited admin's resources)
 * and in the tenant, or NotFound. Services call this rather than pairing the scope check with
 * findResource themselves, so no caller can do one without the other.
 */
import type { Queryable } from '../db/knex';
import { NotFoundError } from '../lib/errors';
import { requireResourceInScope, type Scope } from '../admins/resource-scope';
import { findResource } from './resource.repository';
import type { Resource } from './resource.types';

export async function mustFindResource(q: Queryable, scope: Scope, id: string): Promise<Resource> {
  requireResourceInScope(scope, id);
  const resource = await findResource(q, scope.tenantId, id);
  if (!resource) throw new NotFoundError('Resource');
  return resource;
}
