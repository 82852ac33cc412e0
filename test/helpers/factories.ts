/** Test data builders. Every call makes fresh, uniquely named rows in a fresh tenant unless given one. */
import { randomUUID } from 'node:crypto';
import { authenticator } from 'otplib';
import type { Services } from '../../src/services';
import type { Actor } from '../../src/audit/actor';
import type { Role } from '../../src/audit/actor';

export const TEST_PASSWORD = 'correct horse battery staple';

export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export interface TestTenant {
  tenantId: string;
  adminId: string;
  email: string;
  password: string;
  apiKey: string;
  /** The admin's TOTP secret (base32), already enrolled. */
  totpSecret: string;
  actor: Actor;
}

/** A tenant with an owner whose TOTP is enrolled, plus an API key. */
export async function createTenant(services: Services, options: { role?: Role } = {}): Promise<TestTenant> {
  const email = `${unique('owner')}@example.test`;
  const { tenant, admin, apiKey } = await services.admins.createTenant({ organisation: unique('Tenant'), email, password: TEST_PASSWORD }, { withApiKey: true });
  const totpSecret = authenticator.generateSecret(20);
  await services.db('admins').where({ id: admin.id }).update({ totp_secret_sealed: services.adminSignIn.sealPendingTotp(admin.id, totpSecret) });
  const actor: Actor = { tenantId: tenant.id, type: 'admin', id: admin.id, label: email, role: 'owner' };
  let result: TestTenant = { tenantId: tenant.id, adminId: admin.id, email, password: TEST_PASSWORD, apiKey: apiKey!, totpSecret, actor };
  if (options.role && options.role !== 'owner') result = await addAdmin(services, result, options.role);
  return result;
}

/** Another admin in the same tenant, enrolled, with the given role. */
export async function addAdmin(services: Services, tenant: TestTenant, role: Role): Promise<TestTenant> {
  const email = `${unique(role)}@example.test`;
  const totpSecret = authenticator.generateSecret(20);
  const [row] = await services.db('admins')
    .insert({ tenant_id: tenant.tenantId, email, role, password_hash: await (await import('../../src/lib/passwords')).hashPassword(TEST_PASSWORD) })
    .returning('id');
  await services.db('admins').where({ id: row.id }).update({ totp_secret_sealed: services.adminSignIn.sealPendingTotp(row.id, totpSecret) });
  return { ...tenant, adminId: row.id, email, totpSecret, actor: { tenantId: tenant.tenantId, type: 'admin', id: row.id, label: email, role } };
}

export async function createResource(services: Services, tenant: TestTenant, input: Record<string, unknown> = {}) {
  return services.resources.create(tenant.actor, { name: unique('Resource'), ...input });
}

export async function createUser(services: Services, tenant: TestTenant, input: Record<string, unknown> = {}) {
  return services.users.create(tenant.actor, { login: unique('user'), ...input });
}
