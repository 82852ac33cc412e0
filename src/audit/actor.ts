/** Who is acting, as every service method receives it. The tenant always comes from here, never from input. */
export type Role = 'owner' | 'admin' | 'auditor';

export interface Actor {
  tenantId: string;
  type: 'admin' | 'user' | 'api_key' | 'system';
  id?: string;
  label?: string;
  role?: Role;
  ip?: string;
  userAgent?: string;
}

export function systemActor(tenantId: string, label = 'system'): Actor {
  return { tenantId, type: 'system', label };
}
