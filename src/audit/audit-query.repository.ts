/**
 * Read side of audit_events: filtered keyset pages and the rows with names. Every query is
 * bound to one tenant; names are looked up within that tenant only. The indexes that keep each
 * filter fast are in migrations/20261206000050_audit_log_filters.ts.
 */
import type { Knex } from 'knex';
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';

export interface AuditScope {
  tenantId: string;
  /** The resources a limited admin may see (absent: all): only events of those resources. */
  resourceIds?: readonly string[];
}

export type SearchColumn = 'actor_id' | 'target_id' | 'resource_id';

/** Filters with names already turned into ids. An empty id list matches nothing. */
export interface ResolvedFilter {
  from?: Date;
  until?: Date;
  actorType?: string;
  actorIds?: string[];
  /** A system actor's label (case-insensitive). */
  systemLabel?: string;
  action?: string;
  resourceId?: string;
  targetUserIds?: string[];
  result?: 'success' | 'failure';
  /** Events where any of these (column, id) pairs holds: one ordered index scan per pair, merged. */
  search?: Array<{ column: SearchColumn; id: string }>;
}

export interface Cursor {
  direction: 'older' | 'newer';
  /** The event id the page starts after (exclusive). */
  id: number;
}

/** An event's place in the order: id and created_at in microseconds (JS dates stop at ms). */
export interface EventKey {
  id: number;
  us: number;
}

export interface AuditEventView {
  id: number;
  created_at: Date;
  actor_type: string;
  actor_id: string | null;
  /** The actor's current name in the tenant (admin email, API key name, user login), else the stored label. */
  actor_name: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  /** The target's current name (user login, admin email, API key or resource name, token serial). */
  target_name: string | null;
  resource_id: string | null;
  resource_name: string | null;
  result: string;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
}

function filtered(q: Queryable, scope: AuditScope, f: ResolvedFilter): Knex.QueryBuilder {
  const qb = q('audit_events as e').where('e.tenant_id', scope.tenantId);
  if (scope.resourceIds) qb.whereIn('e.resource_id', [...scope.resourceIds]);
  if (f.from) qb.where('e.created_at', '>=', f.from);
  if (f.until) qb.where('e.created_at', '<', f.until);
  if (f.actorType) qb.where('e.actor_type', f.actorType);
  if (f.actorIds) qb.whereIn('e.actor_id', f.actorIds);
  if (f.systemLabel !== undefined) qb.where('e.actor_type', 'system').whereRaw('lower(e.actor_label) = lower(?)', [f.systemLabel]);
  if (f.action) qb.where('e.action', f.action);
  if (f.resourceId) qb.where('e.resource_id', f.resourceId);
  if (f.targetUserIds) qb.where('e.target_type', 'user').whereIn('e.target_id', f.targetUserIds);
  // Literal, not a parameter, so the planner can match the partial index on failures.
  if (f.result) qb.whereRaw(f.result === 'failure' ? "e.result = 'failure'" : "e.result = 'success'");
  return qb;
}

function ordered(qb: Knex.QueryBuilder, q: Queryable, scope: AuditScope, cursor: Cursor | undefined, limit: number): Knex.QueryBuilder {
  const dir = cursor?.direction === 'newer' ? 'asc' : 'desc';
  if (cursor) {
    // The cursor event's time is read in SQL, at full precision; an id of another tenant finds
    // no time, and a comparison with NULL matches nothing.
    const op = cursor.direction === 'newer' ? '>' : '<';
    qb.whereRaw(`(e.created_at, e.id) ${op} ((SELECT c.created_at FROM audit_events c WHERE c.tenant_id = ? AND c.id = ?), ?)`, [scope.tenantId, cursor.id, cursor.id]);
  }
  return qb
    .select('e.id', q.raw('(extract(epoch from e.created_at) * 1000000)::int8 AS us'))
    .orderBy([{ column: 'e.created_at', order: dir }, { column: 'e.id', order: dir }])
    .limit(limit);
}

const newestFirst = (a: EventKey, b: EventKey) => b.us - a.us || b.id - a.id;

/**
 * The keys of one page, newest first: `limit` events older (or newer) than the cursor. With a
 * search, each (column, id) pair is its own index scan and the pages are merged here; an OR
 * would read and sort every matching event of a busy resource.
 */
export async function eventKeys(q: Queryable, scope: AuditScope, f: ResolvedFilter, cursor: Cursor | undefined, limit: number): Promise<EventKey[]> {
  if (!f.search) {
    const rows: EventKey[] = await ordered(filtered(q, scope, f), q, scope, cursor, limit);
    return cursor?.direction === 'newer' ? rows.reverse() : rows;
  }
  const pages = await Promise.all(f.search.map(({ column, id }) => ordered(filtered(q, scope, f).where(`e.${column}`, id), q, scope, cursor, limit) as Promise<EventKey[]>));
  const unique = new Map<number, EventKey>();
  for (const row of pages.flat()) unique.set(row.id, row);
  const all = [...unique.values()].sort(newestFirst);
  return cursor?.direction === 'newer' ? all.slice(-limit) : all.slice(0, limit);
}

/**
 * The events of `ids` with the names of their actor, target and resource, newest first. Each
 * name is a correlated lookup by primary key within the event's tenant, taken only for its type:
 * a page costs one index probe per name, planning stays trivial, and no table is scanned whole.
 */
export async function eventsWithNames(q: Queryable, tenantId: string, ids: number[]): Promise<AuditEventView[]> {
  if (!ids.length) return [];
  const uuidTarget = `e.target_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`;
  const by = (table: string, column: string, id: string) => `(SELECT x.${column} FROM ${table} x WHERE x.id = ${id} AND x.tenant_id = e.tenant_id)`;
  const { rows } = await q.raw(
    `SELECT e.id, e.created_at, e.actor_type, e.actor_id, e.action, e.target_type, e.target_id, e.resource_id, e.result, e.ip, e.user_agent, e.details,
            coalesce(CASE e.actor_type WHEN 'admin' THEN ${by('admins', 'email', 'e.actor_id')}
                                       WHEN 'api_key' THEN ${by('api_keys', 'name', 'e.actor_id')}
                                       WHEN 'user' THEN ${by('users', 'login', 'e.actor_id')} END, e.actor_label) AS actor_name,
            CASE WHEN NOT (${uuidTarget}) THEN NULL
                 WHEN e.target_type = 'user' THEN ${by('users', 'login', 'e.target_id::uuid')}
                 WHEN e.target_type = 'admin' THEN ${by('admins', 'email', 'e.target_id::uuid')}
                 WHEN e.target_type = 'api_key' THEN ${by('api_keys', 'name', 'e.target_id::uuid')}
                 WHEN e.target_type = 'resource' THEN ${by('resources', 'name', 'e.target_id::uuid')}
                 WHEN e.target_type = 'token' THEN ${by('tokens', 'serial', 'e.target_id::uuid')} END AS target_name,
            CASE WHEN e.resource_id IS NOT NULL THEN ${by('resources', 'name', 'e.resource_id')} END AS resource_name
       FROM audit_events e
      WHERE e.tenant_id = ? AND e.id = ANY(?::bigint[])
      ORDER BY e.created_at DESC, e.id DESC`,
    [tenantId, ids],
  );
  return rows;
}

const lower = (value: string) => value.toLowerCase();

/** Ids of the actors named `name` in the tenant (admin email or name, API key name, user login), of one type if given. */
export async function actorIdsNamed(q: Queryable, tenantId: string, name: string, type?: string): Promise<string[]> {
  const n = lower(name);
  const lookups: Array<Promise<Array<{ id: string }>>> = [];
  if (!type || type === 'admin') lookups.push(q('admins').where({ tenant_id: tenantId }).andWhere((w) => w.whereRaw('lower(email) = ?', [n]).orWhereRaw('lower(name) = ?', [n])).select('id').limit(10));
  if (!type || type === 'api_key') lookups.push(q('api_keys').where({ tenant_id: tenantId }).whereRaw('lower(name) = ?', [n]).select('id').limit(10));
  if (!type || type === 'user') lookups.push(q('users').where({ tenant_id: tenantId }).whereRaw('lower(login) = ?', [n]).select('id').limit(10));
  return (await Promise.all(lookups)).flat().map((r) => r.id);
}

/** The id of the user whose login is `login` in the tenant (any case). */
export async function userIdsWithLogin(q: Queryable, tenantId: string, login: string): Promise<string[]> {
  const rows: Array<{ id: string }> = await q('users').where({ tenant_id: tenantId }).whereRaw('lower(login) = ?', [lower(login)]).select('id');
  return rows.map((r) => r.id);
}

/**
 * What a free-text search matches, exactly and in any case, each through a unique or indexed
 * column: a user's login or email, an admin's email or name, an API key's name, a resource's
 * name, a token's serial (or any of their ids). Returns the (column, id) pairs to look for.
 */
export async function searchTargets(q: Queryable, tenantId: string, text: string): Promise<Array<{ column: SearchColumn; id: string }>> {
  if (isUuid(text)) {
    return (['actor_id', 'target_id', 'resource_id'] as const).map((column) => ({ column, id: text.toLowerCase() }));
  }
  const n = lower(text);
  const [users, admins, keys, resources, tokens] = await Promise.all([
    q('users').where({ tenant_id: tenantId }).andWhere((w) => w.whereRaw('lower(login) = ?', [n]).orWhereRaw('lower(email) = ?', [n])).select('id').limit(5),
    q('admins').where({ tenant_id: tenantId }).andWhere((w) => w.whereRaw('lower(email) = ?', [n]).orWhereRaw('lower(name) = ?', [n])).select('id').limit(5),
    q('api_keys').where({ tenant_id: tenantId }).whereRaw('lower(name) = ?', [n]).select('id').limit(5),
    q('resources').where({ tenant_id: tenantId }).whereRaw('lower(name) = ?', [n]).select('id').limit(1),
    q('tokens').where({ tenant_id: tenantId }).whereRaw('lower(serial) = ?', [n]).select('id').limit(1),
  ]);
  const pairs: Array<{ column: SearchColumn; id: string }> = [];
  for (const { id } of [...users, ...admins, ...keys]) pairs.push({ column: 'actor_id', id }, { column: 'target_id', id });
  for (const { id } of resources) pairs.push({ column: 'resource_id', id }, { column: 'target_id', id });
  for (const { id } of tokens) pairs.push({ column: 'target_id', id });
  // A user found by login and by email is one user: one scan per (column, id).
  return [...new Map(pairs.map((p) => [`${p.column}:${p.id}`, p])).values()];
}
