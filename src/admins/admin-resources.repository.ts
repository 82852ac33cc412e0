/** SQL for the resources an admin is limited to (issue 12 §5). Every query is scoped by tenant id. */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';

export async function resourceIdsOf(q: Queryable, tenantId: string, adminId: string): Promise<string[]> {
  const rows = await q('admin_resources').where({ tenant_id: tenantId, admin_id: adminId }).select('resource_id');
  return rows.map((r) => r.resource_id);
}

/** Every limited admin's resources in the tenant, by admin id (for the Admins page). */
export async function resourceIdsByAdmin(q: Queryable, tenantId: string): Promise<Map<string, string[]>> {
  const rows = await q('admin_resources').where({ tenant_id: tenantId }).select('admin_id', 'resource_id');
  const byAdmin = new Map<string, string[]>();
  for (const r of rows) byAdmin.set(r.admin_id, [...(byAdmin.get(r.admin_id) ?? []), r.resource_id]);
  return byAdmin;
}

/** The ids among `ids` that are resources of the tenant (another tenant's or unknown ids drop out). */
export async function existingResourceIds(q: Queryable, tenantId: string, ids: readonly string[]): Promise<string[]> {
  const valid = [...new Set(ids)].filter(isUuid);
  if (!valid.length) return [];
  const rows = await q('resources').where({ tenant_id: tenantId }).whereIn('id', valid).select('id');
  return rows.map((r) => r.id);
}

/** Sets the flag and replaces the rows; `limited` false leaves no rows. Call inside a transaction. */
export async function replaceResourceScope(q: Queryable, tenantId: string, adminId: string, limited: boolean, resourceIds: readonly string[]): Promise<void> {
  await q('admins').where({ tenant_id: tenantId, id: adminId }).update({ limited_to_resources: limited, updated_at: q.fn.now() });
  await q('admin_resources').where({ tenant_id: tenantId, admin_id: adminId }).delete();
  if (limited && resourceIds.length) {
    await q('admin_resources').insert(resourceIds.map((resourceId) => ({ tenant_id: tenantId, admin_id: adminId, resource_id: resourceId })));
  }
}
