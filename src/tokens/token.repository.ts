/** SQL for tokens and their resource assignments. Every query is scoped by tenant id. */
import type { Knex } from 'knex';
import { fetchPageByKey } from '../db/paging';
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import type { PageRequest } from '../lib/pagination';
import { escapeLike } from '../resources/resource.repository';
import { whereUserSearch } from '../users/user.repository';
import type { Token, TokenCheckRow, TokenListFilter, TokenSecretRow } from './token.types';
import { whereResourceInScope, whereTokenInScope, type Scope } from '../admins/resource-scope';

/** The columns of a TokenCheckRow, for statements that select only those. */
export const TOKEN_CHECK_COLUMNS = ['id', 'tenant_id', 'user_id', 'type', 'serial', 'otp_kind', 'algorithm', 'digits', 'period', 'hotp_counter', 'totp_last_step', 'drift', 'seed_sealed', 'pin_hash'] as const;

/** The fields every token shape has. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function tokenCore(r: any) {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    userId: r.user_id,
    type: r.type,
    serial: r.serial,
    otpKind: r.otp_kind,
    algorithm: r.algorithm,
    digits: r.digits,
    period: r.period,
    hotpCounter: r.hotp_counter,
    totpLastStep: r.totp_last_step,
    drift: r.drift,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toToken(r: any): Token {
  return {
    ...tokenCore(r),
    name: r.name,
    enabled: r.enabled,
    hasPin: Boolean(r.pin_hash),
    failCount: r.fail_count,
    lastUsedAt: r.last_used_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toSecretRow(r: any): TokenSecretRow {
  return { ...toToken(r), seedSealed: r.seed_sealed, pinHash: r.pin_hash };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toCheckRow(r: any): TokenCheckRow {
  return { ...tokenCore(r), seedSealed: r.seed_sealed, pinHash: r.pin_hash };
}

export async function insertToken(q: Queryable, row: Record<string, unknown>): Promise<Token> {
  const [created] = await q('tokens').insert(row).returning('*');
  return toToken(created);
}

export async function findToken(q: Queryable, tenantId: string, id: string): Promise<Token | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('tokens').where({ tenant_id: tenantId, id }).first();
  return row ? toToken(row) : undefined;
}

export async function findTokenSecret(q: Queryable, tenantId: string, id: string): Promise<TokenSecretRow | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('tokens').where({ tenant_id: tenantId, id }).first();
  return row ? toSecretRow(row) : undefined;
}

export async function findTokenBySerial(q: Queryable, tenantId: string, serial: string): Promise<Token | undefined> {
  const row = await q('tokens').where({ tenant_id: tenantId }).whereRaw('lower(serial) = lower(?)', [serial]).first();
  return row ? toToken(row) : undefined;
}

export async function updateToken(q: Queryable, tenantId: string, id: string, patch: Record<string, unknown>): Promise<Token | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await q('tokens').where({ tenant_id: tenantId, id }).update({ ...patch, updated_at: q.fn.now() }).returning('*');
  return row ? toToken(row) : undefined;
}

export async function deleteToken(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  return (await q('tokens').where({ tenant_id: tenantId, id }).delete()) > 0;
}

export interface TokenListItem extends Token {
  userLogin: string | null;
  resourceCount: number;
}

/**
 * Filtered, paged list of the scope's tokens, newest first; search matches serial, name and the
 * owner's login. The page's ids come from tokens alone in index order ((tenant_id, created_at, id)
 * or the type's index), so only those 25 rows are joined to their owner and resource counts.
 */
export async function listTokens(q: Queryable, scope: Scope, filter: TokenListFilter, page: PageRequest): Promise<{ items: TokenListItem[]; total: number }> {
  const base = whereTokenInScope(q, q('tokens as t').where('t.tenant_id', scope.tenantId), 't.id', scope);
  // Counted within the scope too: a limited admin must not learn of assignments elsewhere.
  const resourceCount = whereResourceInScope(q('token_resources as tr').whereRaw('tr.token_id = t.id'), 'tr.resource_id', scope).count('*');
  if (filter.type) base.andWhere('t.type', filter.type);
  if (filter.status === 'enabled') base.andWhere('t.enabled', true);
  if (filter.status === 'disabled') base.andWhere('t.enabled', false);
  if (filter.status === 'stock') base.whereNull('t.user_id');
  if (filter.userId && isUuid(filter.userId)) base.andWhere('t.user_id', filter.userId);
  if (filter.q) base.whereRaw('t.id IN (? UNION ?)', tokenIdsMatching(q, scope.tenantId, `%${escapeLike(filter.q.toLowerCase())}%`));
  // A search sorts its matches (a materialised CTE) rather than let the planner walk the time order
  // and test every token against them, which it does when it guesses matches are common.
  const ordered = filter.q
    ? q.withMaterialized('matches', base.clone().select('t.id', 't.created_at')).from('matches').select('id').orderBy('created_at', 'desc').orderBy('id', 'desc')
    : base.clone().select('t.id').orderBy('t.created_at', 'desc').orderBy('t.id', 'desc');
  const { rows, total } = await fetchPageByKey(ordered, page, (ids) =>
    q('tokens as t')
      .leftJoin('users as u', function ownerInTenant() {
        this.on('u.id', 't.user_id').andOn('u.tenant_id', 't.tenant_id');
      })
      .where('t.tenant_id', scope.tenantId)
      .whereIn('t.id', ids)
      .select('t.*', 'u.login as user_login', q.raw('(?)::int AS resource_count', [resourceCount]))
      .orderBy('t.created_at', 'desc').orderBy('t.id', 'desc'),
  base);
  return { items: rows.map((r) => ({ ...toToken(r), userLogin: r.user_login, resourceCount: r.resource_count })), total };
}

/**
 * Ids of the tenant's tokens whose serial or name contains `pattern`, or whose owner's login does.
 * A UNION rather than one OR across the join: each side then uses its own trigram index (serial
 * and name by a BitmapOr, the login through the users' search index), where the OR read every token.
 */
function tokenIdsMatching(q: Queryable, tenantId: string, pattern: string): [Knex.QueryBuilder, Knex.QueryBuilder] {
  const own = q('tokens').where('tenant_id', tenantId).andWhere((w) => w.whereRaw('lower(serial) LIKE ?', [pattern]).orWhereRaw('lower(name) LIKE ?', [pattern])).select('id');
  const byOwner = q('tokens as o')
    .whereIn('o.user_id', whereUserSearch(q('users').where('tenant_id', tenantId), pattern).whereRaw('lower(login) LIKE ?', [pattern]).select('id'))
    .andWhere('o.tenant_id', tenantId)
    .select('o.id');
  return [own, byOwner];
}

export async function insertTokenResource(q: Queryable, tenantId: string, tokenId: string, resourceId: string): Promise<boolean> {
  const rows = await q('token_resources').insert({ tenant_id: tenantId, token_id: tokenId, resource_id: resourceId }).onConflict(['token_id', 'resource_id']).ignore().returning('token_id');
  return rows.length > 0;
}

export async function deleteTokenResource(q: Queryable, tenantId: string, tokenId: string, resourceId: string): Promise<boolean> {
  if (!isUuid(tokenId) || !isUuid(resourceId)) return false;
  return (await q('token_resources').where({ tenant_id: tenantId, token_id: tokenId, resource_id: resourceId }).delete()) > 0;
}

export async function deleteTokenResourcesOf(q: Queryable, tenantId: string, tokenId: string): Promise<void> {
  await q('token_resources').where({ tenant_id: tenantId, token_id: tokenId }).delete();
}

/** The token's resources within the scope. */
export async function listResourceIdsOfToken(q: Queryable, scope: Scope, tokenId: string): Promise<Array<{ id: string; name: string }>> {
  return whereResourceInScope(q('token_resources as tr'), 'tr.resource_id', scope).join('resources as r', 'r.id', 'tr.resource_id').where({ 'tr.tenant_id': scope.tenantId, 'tr.token_id': tokenId }).orderByRaw('lower(r.name)').select('r.id', 'r.name');
}

/**
 * Number of tokens of a user assigned to a resource (for max tokens per user). A portal enrolment
 * not yet confirmed does not count: it cannot be used, and an abandoned one must not block the
 * user (it is discarded at the next enrolment start or after 30 minutes).
 */
export async function countUserTokensInResource(q: Queryable, tenantId: string, userId: string, resourceId: string): Promise<number> {
  const [{ count }] = await q('token_resources as tr')
    .join('tokens as t', function joinToken() {
      this.on('t.id', 'tr.token_id').andOn('t.tenant_id', 'tr.tenant_id');
    })
    .leftJoin('portal_enrollments as pe', function joinPending() {
      this.on('pe.token_id', 't.id').andOn('pe.tenant_id', 't.tenant_id');
    })
    .where({ 'tr.tenant_id': tenantId, 'tr.resource_id': resourceId, 't.user_id': userId })
    .whereNull('pe.token_id')
    .count<{ count: string }[]>('* as count');
  return Number(count);
}

/** The user's tokens assigned to the resource, oldest first (whole rows: callers map them). */
function userTokensInResource(q: Queryable, tenantId: string, resourceId: string, userId: string) {
  return q('tokens as t')
    .join('token_resources as tr', 'tr.token_id', 't.id')
    .where({ 't.tenant_id': tenantId, 'tr.tenant_id': tenantId, 'tr.resource_id': resourceId, 't.user_id': userId })
    .orderBy('t.created_at')
    .select('t.*');
}

/** The user's enabled tokens assigned to the resource, with what verification needs. */
export async function tokensForCheck(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<TokenSecretRow[]> {
  return (await userTokensInResource(q, tenantId, resourceId, userId).andWhere('t.enabled', true)).map(toSecretRow);
}

/** The user's tokens with the resources they are assigned to (for the user page), both within the scope. */
export async function listTokensOfUser(q: Queryable, scope: Scope, userId: string): Promise<Array<Token & { resources: Array<{ id: string; name: string }> }>> {
  const tenantId = scope.tenantId;
  const rows = await whereTokenInScope(q, q('tokens').where({ tenant_id: tenantId, user_id: userId }), 'tokens.id', scope).orderBy('created_at');
  const links = await whereResourceInScope(q('token_resources as tr'), 'tr.resource_id', scope).join('resources as r', 'r.id', 'tr.resource_id').where('tr.tenant_id', tenantId).whereIn('tr.token_id', rows.map((r) => r.id)).select('tr.token_id', 'r.id', 'r.name');
  return rows.map((r) => ({ ...toToken(r), resources: links.filter((l) => l.token_id === r.id).map((l) => ({ id: l.id, name: l.name })) }));
}

/**
 * Accepts a TOTP step once: an atomic compare-and-set, so concurrent identical codes give exactly
 * one success (SEC-05), and drift is stored only with a success (SEC-04).
 */
export async function claimTotpStep(q: Queryable, tenantId: string, tokenId: string, step: number, drift: number): Promise<boolean> {
  const updated = await q('tokens')
    .where({ tenant_id: tenantId, id: tokenId, enabled: true })
    .andWhere((w) => w.whereNull('totp_last_step').orWhere('totp_last_step', '<', step))
    .update({ totp_last_step: step, drift, last_used_at: q.fn.now(), fail_count: 0 });
  return updated === 1;
}

/** Accepts an HOTP counter once: only if the stored next-expected counter is still at or below it. */
export async function claimHotpCounter(q: Queryable, tenantId: string, tokenId: string, matched: number): Promise<boolean> {
  const updated = await q('tokens')
    .where({ tenant_id: tenantId, id: tokenId, enabled: true })
    .andWhere('hotp_counter', '<=', matched)
    .update({ hotp_counter: matched + 1, last_used_at: q.fn.now(), fail_count: 0 });
  return updated === 1;
}

export async function incrementTokenFailures(q: Queryable, tenantId: string, tokenIds: string[]): Promise<void> {
  if (tokenIds.length) await q('tokens').where('tenant_id', tenantId).whereIn('id', tokenIds).increment('fail_count', 1);
}

/** The user's tokens assigned to the resource, enabled or not, without secrets (the portal dashboard). */
export async function listUserTokensInResource(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<Token[]> {
  return (await userTokensInResource(q, tenantId, resourceId, userId)).map(toToken);
}
