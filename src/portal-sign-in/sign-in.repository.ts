/**
 * SQL for portal sign-in (SPEC §5.2): the member who may sign in at a resource, their emailed
 * sign-in codes, and the lock counter's release after a first factor. Every query is scoped by
 * tenant id; codes are never here, only their HMAC.
 */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import { toUser } from '../users/user.repository';
import type { User } from '../users/user.types';

export interface PortalMember {
  id: string;
  login: string;
  email: string | null;
  passwordHash: string | null;
  blocked: boolean;
}

const MEMBER_COLUMNS = ['u.id', 'u.login', 'u.email', 'u.password_hash', 'u.blocked_at'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toMember = (r: any): PortalMember => ({ id: r.id, login: r.login, email: r.email, passwordHash: r.password_hash, blocked: Boolean(r.blocked_at) });

/**
 * The user assigned to the resource whose login (case-insensitive) or else email is `typed`.
 * An email shared by several assigned users identifies nobody.
 */
export async function findMemberByLogin(q: Queryable, tenantId: string, resourceId: string, typed: string): Promise<PortalMember | undefined> {
  const base = () =>
    q('users as u')
      .join('resource_users as ru', function joinAssignment() {
        this.on('ru.user_id', 'u.id').andOn('ru.tenant_id', 'u.tenant_id');
      })
      .where({ 'u.tenant_id': tenantId, 'ru.resource_id': resourceId });
  const byLogin = await base().whereRaw('lower(u.login) = lower(?)', [typed]).first(MEMBER_COLUMNS);
  if (byLogin) return toMember(byLogin);
  if (!typed.includes('@')) return undefined;
  const byEmail = await base().whereRaw('u.email = lower(?)', [typed]).select(MEMBER_COLUMNS).limit(2);
  return byEmail.length === 1 ? toMember(byEmail[0]) : undefined;
}

/** The member by id, or undefined once they are unassigned or deleted. */
export async function findMemberById(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<PortalMember | undefined> {
  if (!isUuid(userId)) return undefined;
  const row = await q('users as u')
    .join('resource_users as ru', function joinAssignment() {
      this.on('ru.user_id', 'u.id').andOn('ru.tenant_id', 'u.tenant_id');
    })
    .where({ 'u.tenant_id': tenantId, 'ru.resource_id': resourceId, 'u.id': userId })
    .first(MEMBER_COLUMNS);
  return row ? toMember(row) : undefined;
}

/**
 * Gives back the attempt reserved for a first factor that succeeded while a second factor is
 * still due. Not a reset: the failures before it stay counted, so knowing the password never
 * buys fresh guesses at the second factor; only a completed check clears the count.
 */
export async function releaseAttempt(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<void> {
  await q.raw(
    `UPDATE resource_users SET fail_count = greatest(fail_count - 1, 0)
     WHERE tenant_id = ? AND resource_id = ? AND user_id = ? AND locked_until IS NULL`,
    [tenantId, resourceId, userId],
  );
}

/** True when a sign-in code was sent to this member for this resource less than `seconds` ago. */
export async function codeSentWithin(q: Queryable, tenantId: string, resourceId: string, userId: string, seconds: number): Promise<boolean> {
  const row = await q('portal_sign_in_codes')
    .where({ tenant_id: tenantId, resource_id: resourceId, user_id: userId })
    .andWhere('created_at', '>', q.raw('now() - make_interval(secs => ?)', [seconds]))
    .first('id');
  return Boolean(row);
}

/** At most this many sign-ins share one code (issue 15 §2): enough for a person's browsers, bounded. */
export const MAX_CODE_BINDINGS = 10;

/**
 * Stores a new code and retires the member's open ones in this resource (only the newest works).
 * The sign-ins the retired codes served keep working with the new code (issue 15 §2), so a second
 * browser asking for a code does not strand the first one.
 */
export async function replaceCode(q: Queryable, row: { id: string; tenantId: string; resourceId: string; userId: string; codeHash: string; bindingHash: string; ttlSeconds: number }): Promise<void> {
  const retired = await q('portal_sign_in_codes')
    .where({ tenant_id: row.tenantId, resource_id: row.resourceId, user_id: row.userId })
    .whereNull('used_at')
    .andWhere('expires_at', '>', q.fn.now())
    .update({ expires_at: q.fn.now() })
    .returning(['binding_hash', 'extra_binding_hashes', 'created_at']);
  const carried = retired
    .sort((a, b) => new Date(b.created_at).getTime() - new Date(a.created_at).getTime())
    .flatMap((r) => [r.binding_hash as string, ...((r.extra_binding_hashes as string[]) ?? [])])
    .filter((h, i, all) => h !== row.bindingHash && all.indexOf(h) === i)
    .slice(0, MAX_CODE_BINDINGS - 1);
  await q('portal_sign_in_codes').insert({
    id: row.id,
    tenant_id: row.tenantId,
    resource_id: row.resourceId,
    user_id: row.userId,
    code_hash: row.codeHash,
    binding_hash: row.bindingHash,
    extra_binding_hashes: carried,
    expires_at: q.raw('now() + make_interval(secs => ?)', [row.ttlSeconds]),
  });
}

/**
 * A new sign-in of the member while their newest code is open and no new one may be sent yet:
 * that code works for this sign-in too (issue 15 §2). Attempts stay counted on the code, so
 * sharing it buys no extra guesses. Returns whether the sign-in was added.
 */
export async function shareOpenCode(q: Queryable, tenantId: string, resourceId: string, userId: string, bindingHash: string): Promise<boolean> {
  const result = await q.raw(
    `UPDATE portal_sign_in_codes SET extra_binding_hashes = array_append(extra_binding_hashes, ?)
     WHERE id = (
         SELECT id FROM portal_sign_in_codes
         WHERE tenant_id = ? AND resource_id = ? AND user_id = ? AND used_at IS NULL AND expires_at > now()
         ORDER BY created_at DESC, id LIMIT 1)
       AND binding_hash <> ? AND NOT (? = ANY(extra_binding_hashes)) AND cardinality(extra_binding_hashes) < ?`,
    [bindingHash, tenantId, resourceId, userId, bindingHash, bindingHash, MAX_CODE_BINDINGS - 1],
  );
  return (result.rowCount ?? 0) === 1;
}

/**
 * Spends one attempt on the member's open code in one atomic UPDATE: concurrent guesses cannot
 * buy more than `maxAttempts`. Only the newest open code counts, and only for the sign-ins it
 * serves (`bindingHash`: the one it was sent to, or one that shares it). Returns the code's hash to compare, or undefined when there is no such
 * open code or its attempts are used up.
 */
export async function reserveCodeAttempt(q: Queryable, tenantId: string, resourceId: string, userId: string, bindingHash: string, maxAttempts: number): Promise<{ id: string; codeHash: string } | undefined> {
  const result = await q.raw(
    `UPDATE portal_sign_in_codes SET attempts = attempts + 1
     WHERE id = (
         SELECT id FROM portal_sign_in_codes
         WHERE tenant_id = ? AND resource_id = ? AND user_id = ? AND used_at IS NULL AND expires_at > now()
         ORDER BY created_at DESC, id LIMIT 1)
       AND (binding_hash = ? OR ? = ANY(extra_binding_hashes)) AND attempts < ? AND used_at IS NULL AND expires_at > now()
     RETURNING id, code_hash`,
    [tenantId, resourceId, userId, bindingHash, bindingHash, maxAttempts],
  );
  const row = result.rows[0];
  return row ? { id: row.id, codeHash: row.code_hash } : undefined;
}

/** Marks a matched code used; of concurrent right guesses exactly one wins. */
export async function useCode(q: Queryable, tenantId: string, codeId: string): Promise<boolean> {
  const updated = await q('portal_sign_in_codes').where({ tenant_id: tenantId, id: codeId }).whereNull('used_at').update({ used_at: q.fn.now() });
  return updated === 1;
}

/** The assigned user as the portal shows them, in one query (undefined once unassigned or deleted). */
export async function findAssignedUser(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<User | undefined> {
  if (!isUuid(userId)) return undefined;
  const row = await q('users as u')
    .join('resource_users as ru', function joinAssignment() {
      this.on('ru.user_id', 'u.id').andOn('ru.tenant_id', 'u.tenant_id');
    })
    .where({ 'u.tenant_id': tenantId, 'ru.resource_id': resourceId, 'u.id': userId })
    .first('u.*');
  return row ? toUser(row) : undefined;
}
