/** Who is acting, as every service method receives it. The tenant always comes from here, never from input. */
export type Role = 'owner' | 'admin' | 'auditor';

export interface Actor {
  tenantId: string;
  type: 'admin' | 'user' | 'api_key' | 'system';
  id?: string;
  label?: string;
  role?: Role;
  /**
   * Set for an admin an owner limited to selected resources (SPEC §2, issue 12 §5): the ids of those
   * resources. Services answer 404 for anything outside them. Absent means every resource of the tenant.
   */
  resourceIds?: readonly string[];
  ip?: string;
  userAgent?: string;
}

export function systemActor(tenantId: string, label = 'system'): Actor {
  return { tenantId, type: 'system', label };
}
