/** SQL for users and their resource assignments. Every query is scoped by tenant id. */
import type { Knex } from 'knex';
import { fetchPageByKey } from '../db/paging';
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import type { PageRequest } from '../lib/pagination';
import { escapeLike } from '../resources/resource.repository';
import type { User, UserResourceAssignment } from './user.types';
import { memberPage, type EnrollmentStatus } from '../invitations/enrollment-status.repository';
import { whereResourceInScope, whereUserInScope, type Scope } from '../admins/resource-scope';

export interface UserRow {
  login?: string;
  email?: string | null;
  phone?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  password_hash?: string | null;
  blocked_at?: Date | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toUser(r: any): User {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    login: r.login,
    email: r.email,
    phone: r.phone,
    firstName: r.first_name,
    lastName: r.last_name,
    hasPassword: Boolean(r.password_hash),
    blocked: Boolean(r.blocked_at),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function insertUser(q: Queryable, tenantId: string, row: UserRow): Promise<User> {
  const [created] = await q('users').insert({ tenant_id: tenantId, ...row }).returning('*');
  return toUser(created);
}

export async function updateUser(q: Queryable, tenantId: string, id: string, row: UserRow): Promise<User | undefined> {
  if (!isUuid(id)) return undefined;
  const [updated] = await q('users').where({ tenant_id: tenantId, id }).update({ ...row, updated_at: q.fn.now() }).returning('*');
  return updated ? toUser(updated) : undefined;
}

export async function findUser(q: Queryable, tenantId: string, id: string): Promise<User | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('users').where({ tenant_id: tenantId, id }).first();
  return row ? toUser(row) : undefined;
}

/** Case-insensitive lookup by login, as users type it. */
export async function findUserByLogin(q: Queryable, tenantId: string, login: string): Promise<User | undefined> {
  const row = await q('users').where({ tenant_id: tenantId }).whereRaw('lower(login) = lower(?)', [login]).first();
  return row ? toUser(row) : undefined;
}

export async function deleteUser(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  return (await q('users').where({ tenant_id: tenantId, id }).delete()) > 0;
}

/** `search_text`: login, email and names in lower case, a stored column with a trigram index (users_search_trgm). */
const USER_SEARCH_SQL = `search_text LIKE ?`;

/** Keeps users whose login, email or names contain `pattern` (a LIKE pattern, lower case). */
export function whereUserSearch<T extends Knex.QueryBuilder>(query: T, pattern: string): T {
  query.whereRaw(USER_SEARCH_SQL, [pattern]);
  return query;
}

/**
 * Case-insensitive search over login, email and names; paged, ordered by login. Only the scope's
 * users. The page's ids come index-only from (tenant_id, lower(login)) INCLUDE (id, login), so a
 * deep page skips index entries, not table rows.
 */
export async function listUsers(q: Queryable, scope: Scope, search: string, page: PageRequest): Promise<{ items: User[]; total: number }> {
  const base = whereUserInScope(q, q('users').where('tenant_id', scope.tenantId), 'users.id', scope);
  if (search) whereUserSearch(base, `%${escapeLike(search.toLowerCase())}%`);
  // With search_text a stored column, ANALYZE gives the planner its statistics, so it estimates
  // a search's matches from the data: it walks the login order for a search matching most users
  // and takes a narrow one's few matches from the trigram index, then sorts them (with the old
  // expression it guessed 1 % for every search and walked 100 000 rows for 100 matches: 296 ms).
  const { rows, total } = await fetchPageByKey(base.clone().select('id').orderByRaw('lower(login)'), page, (ids) =>
    q('users').where('tenant_id', scope.tenantId).whereIn('id', ids).select('*').orderByRaw('lower(login)'),
  base);
  return { items: rows.map(toUser), total };
}

/** Assigns idempotently; returns false when it already existed. Both ids must belong to the tenant (checked by the caller). */
export async function insertAssignment(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<boolean> {
  const rows = await q('resource_users')
    .insert({ tenant_id: tenantId, resource_id: resourceId, user_id: userId })
    .onConflict(['resource_id', 'user_id'])
    .ignore()
    .returning('user_id');
  return rows.length > 0;
}

export async function deleteAssignment(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<boolean> {
  return (await q('resource_users').where({ tenant_id: tenantId, resource_id: resourceId, user_id: userId }).delete()) > 0;
}

/** The user's assignments to the scope's resources (a limited admin sees no others). */
export async function listAssignmentsOfUser(q: Queryable, scope: Scope, userId: string): Promise<UserResourceAssignment[]> {
  const rows = await whereResourceInScope(q('resource_users as ru'), 'ru.resource_id', scope)
    .join('resources as r', 'r.id', 'ru.resource_id')
    .where({ 'ru.tenant_id': scope.tenantId, 'ru.user_id': userId })
    .orderByRaw('lower(r.name)')
    .select('ru.resource_id', 'r.name', 'ru.fail_count', 'ru.locked_until', 'ru.created_at');
  return rows.map((r) => ({ resourceId: r.resource_id, resourceName: r.name, failCount: r.fail_count, lockedUntil: r.locked_until, assignedAt: r.created_at }));
}

/**
 * The resource's members by login; `status` keeps those in one enrolment state
 * (enrollment-status.repository, set-based). The page's ids and the exact total come first
 * (memberPage: an offset over the login-order index of resource_users, index-only at any depth);
 * only those rows are read from users.
 */
export async function listUsersOfResource(q: Queryable, tenantId: string, resourceId: string, page: PageRequest, status?: EnrollmentStatus): Promise<{ items: User[]; total: number }> {
  const { ids, total } = await memberPage(q, tenantId, resourceId, status, page);
  const rows = ids.length ? await q('users').where('tenant_id', tenantId).whereIn('id', ids).select('*').orderByRaw('lower(login), id') : [];
  return { items: rows.map(toUser), total };
}
