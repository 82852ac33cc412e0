/**
 * A tenant for the "admin limited to selected resources" tests (issue 12 §5): resources R1 (in the
 * limited admin's scope) and R2 (not), users and tokens in each and in both, a stock token, and an
 * admin limited to R1 by the owner.
 */
import type { Services } from '../../src/services';
import type { Actor } from '../../src/audit/actor';
import { scopeOfAdmin } from '../../src/admins/resource-scope';
import { addAdmin, createResource, createTenant, createUser, unique, type TestTenant } from './factories';

export async function scopedTenant(services: Services) {
  const owner = await createTenant(services);
  const r1 = await createResource(services, owner, { name: unique('Alpha'), maxTokensPerUser: 3 });
  const r2 = await createResource(services, owner, { name: unique('Beta'), maxTokensPerUser: 3 });
  const u1 = await createUser(services, owner, { login: unique('one'), email: `${unique('one')}@example.test` });
  const u2 = await createUser(services, owner, { login: unique('two'), email: `${unique('two')}@example.test` });
  const u12 = await createUser(services, owner, { login: unique('both'), email: `${unique('both')}@example.test` });
  const u0 = await createUser(services, owner, { login: unique('none') });
  for (const [user, resources] of [[u1, [r1]], [u2, [r2]], [u12, [r1, r2]]] as const) {
    for (const r of resources) await services.users.assign(owner.actor, r.id, user.id);
  }
  const token = async (userId: string | undefined, resourceIds: string[]) => {
    const { token: created } = await services.tokens.create(owner.actor, { type: 'totp', userId }, { resourceId: resourceIds[0] });
    for (const id of resourceIds.slice(1)) await services.tokens.assignToResource(owner.actor, id, created.id);
    return created;
  };
  const t1 = await token(u1.id, [r1.id]);
  const t2 = await token(u2.id, [r2.id]);
  const t12 = await token(u12.id, [r1.id, r2.id]);
  const t12b = await token(u12.id, [r2.id]);
  const tStock = await token(undefined, []);

  const limitedAdmin = await addAdmin(services, owner, 'admin');
  await services.admins.setResourceScope(owner.actor, limitedAdmin.adminId, { limited: true, resourceIds: [r1.id] });
  const limited: TestTenant = { ...limitedAdmin, actor: { ...limitedAdmin.actor, resourceIds: [r1.id] } };
  return { owner, limited, r1, r2, users: { u1, u2, u12, u0 }, tokens: { t1, t2, t12, t12b, tStock } };
}

export type ScopedTenant = Awaited<ReturnType<typeof scopedTenant>>;

/** The actor as the console builds it for this admin now (fresh from the database, like requireAdmin). */
export async function consoleActor(services: Services, admin: TestTenant): Promise<Actor> {
  const loaded = (await services.admins.activeAdmin(admin.tenantId, admin.adminId))!;
  return { ...admin.actor, resourceIds: scopeOfAdmin(loaded) };
}
