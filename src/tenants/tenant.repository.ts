/** SQL for tenants. */
import type { Queryable } from '../db/knex';

export interface Tenant {
  id: string;
  name: string;
  disabledAt: Date | null;
}

export async function insertTenant(q: Queryable, name: string): Promise<Tenant> {
  const [row] = await q('tenants').insert({ name }).returning('*');
  return { id: row.id, name: row.name, disabledAt: row.disabled_at };
}

export async function findTenant(q: Queryable, id: string): Promise<Tenant | undefined> {
  const row = await q('tenants').where({ id }).first();
  return row ? { id: row.id, name: row.name, disabledAt: row.disabled_at } : undefined;
}
