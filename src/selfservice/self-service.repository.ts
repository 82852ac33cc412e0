/** SQL for the Self-Service configuration (columns of `resources`). Scoped by tenant, except the portal lookup by address. */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import type { SelfServiceConfig, SelfServicePatch } from './self-service.types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toConfig(r: any): SelfServiceConfig {
  return {
    resourceId: r.id,
    resourceName: r.name,
    address: r.self_service_address ?? null,
    allowedActions: r.allowed_actions ?? [],
    enrollmentTokenTypes: r.enrollment_token_types ?? [],
  };
}

const SELECT = ['id', 'name', 'self_service_address', 'allowed_actions', 'enrollment_token_types'];

export async function findConfig(q: Queryable, tenantId: string, resourceId: string): Promise<SelfServiceConfig | undefined> {
  if (!isUuid(resourceId)) return undefined;
  const row = await q('resources').where({ tenant_id: tenantId, id: resourceId }).first(SELECT);
  return row ? toConfig(row) : undefined;
}

export async function updateConfig(q: Queryable, tenantId: string, resourceId: string, patch: SelfServicePatch): Promise<SelfServiceConfig | undefined> {
  if (!isUuid(resourceId)) return undefined;
  const row: Record<string, unknown> = {};
  if (patch.address !== undefined) row.self_service_address = patch.address;
  if (patch.allowedActions !== undefined) row.allowed_actions = patch.allowedActions;
  if (patch.enrollmentTokenTypes !== undefined) row.enrollment_token_types = patch.enrollmentTokenTypes;
  const [updated] = await q('resources')
    .where({ tenant_id: tenantId, id: resourceId })
    .update({ ...row, updated_at: q.fn.now() })
    .returning(SELECT);
  return updated ? toConfig(updated) : undefined;
}

export interface PortalResource {
  id: string;
  tenantId: string;
  name: string;
  allowedActions: string[];
  enrollmentTokenTypes: string[];
  /** Users without a token may only enroll one (SPEC §2). */
  requireSecondFactor: boolean;
}

/** The active portal at an address: its resource and tenant must not be disabled. */
export async function findPortalByAddress(q: Queryable, address: string): Promise<PortalResource | undefined> {
  const row = await q('resources')
    .join('tenants', 'tenants.id', 'resources.tenant_id')
    .where('resources.self_service_address', address)
    .whereNull('resources.disabled_at')
    .whereNull('tenants.disabled_at')
    .first('resources.id', 'resources.tenant_id', 'resources.name', 'resources.allowed_actions', 'resources.enrollment_token_types', 'resources.require_second_factor');
  return row
    ? { id: row.id, tenantId: row.tenant_id, name: row.name, allowedActions: row.allowed_actions, enrollmentTokenTypes: row.enrollment_token_types, requireSecondFactor: row.require_second_factor }
    : undefined;
}
