/**
 * SQL for the portal's profile actions (SPEC §5.3): the password hash a change must check, the
 * login-uniqueness test and the conditional password update. Every query is scoped by tenant id.
 */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';

/** The user's password hash: null when they have none, undefined when there is no such user. */
export async function passwordHashOf(q: Queryable, tenantId: string, userId: string): Promise<string | null | undefined> {
  if (!isUuid(userId)) return undefined;
  const row = await q('users').where({ tenant_id: tenantId, id: userId }).first('password_hash');
  return row ? (row.password_hash as string | null) : undefined;
}

/**
 * True when another user of the tenant has `login` as their login (case-insensitive) or, for a
 * login that looks like an address, as their email: portal sign-in tries logins before emails, so
 * such an alias would shadow the other user's sign-in by email.
 */
export async function loginTakenByOther(q: Queryable, tenantId: string, login: string, userId: string): Promise<boolean> {
  const row = await q('users')
    .where({ tenant_id: tenantId })
    .whereNot({ id: userId })
    .andWhere((w) => {
      w.whereRaw('lower(login) = lower(?)', [login]);
      if (login.includes('@')) w.orWhereRaw('lower(email) = lower(?)', [login]);
    })
    .first('id');
  return Boolean(row);
}

/**
 * Sets the password hash only if it is still `expected` (what the current password was checked
 * against), so two concurrent changes cannot both pass with the same old password.
 */
export async function replacePasswordHash(q: Queryable, tenantId: string, userId: string, expected: string | null, next: string): Promise<boolean> {
  const query = q('users').where({ tenant_id: tenantId, id: userId });
  if (expected === null) query.whereNull('password_hash');
  else query.where({ password_hash: expected });
  return (await query.update({ password_hash: next, updated_at: q.fn.now() })) === 1;
}

/**
 * Ends the user's other portal sessions, in every portal (after a password change, the old
 * password must not keep a stolen session alive). Sessions are rows of `sessions` whose portal
 * state names the user; user ids are unique across tenants.
 */
export async function deleteOtherPortalSessions(q: Queryable, userId: string, keepSessionId: string | undefined): Promise<number> {
  const query = q('sessions').whereRaw(`data->'portal'->>'userId' = ?`, [userId]);
  if (keepSessionId) query.whereNot({ sid: keepSessionId });
  return query.delete();
}
