/**
 * Admins limited to selected resources (SPEC §2, issue 12 §5): the one place that says what is "in
 * scope" for an actor. Services call these before acting and repositories add the SQL conditions,
 * so every surface (console pages, htmx fragments, CSV exports, future API uses) gets the same
 * answer. Outside the scope is "not found" (404), never "forbidden": a limited admin must not learn
 * which other resources, users or tokens exist.
 *
 * In scope: the actor's resources; users assigned to at least one of them; tokens assigned to at
 * least one of them. An actor without `resourceIds` (owners, unlimited admins, auditors, API keys,
 * the system) sees the whole tenant.
 */
import type { Knex } from 'knex';
import type { Queryable } from '../db/knex';
import { ForbiddenError, NotFoundError } from '../lib/errors';
import { isUuid } from '../db/errors';
import type { Actor } from '../audit/actor';

/** What scoping needs of an actor: its tenant and, when limited, its resources. Every Actor is one. */
export type Scope = Pick<Actor, 'tenantId' | 'resourceIds'>;

/** The `Actor.resourceIds` of a signed-in admin: only role `admin` can be limited (owners and auditors see all). */
export function scopeOfAdmin(admin: { role: string; limitedToResources: boolean; resourceIds?: readonly string[] }): readonly string[] | undefined {
  return admin.role === 'admin' && admin.limitedToResources ? admin.resourceIds ?? [] : undefined;
}

export function isLimited(scope: Scope): scope is Scope & { resourceIds: readonly string[] } {
  return scope.resourceIds !== undefined;
}

export function resourceInScope(scope: Scope, resourceId: string): boolean {
  return !isLimited(scope) || scope.resourceIds.includes(resourceId);
}

/** Throws NotFound (as for an unknown id) when the resource is outside a limited actor's scope. */
export function requireResourceInScope(scope: Scope, resourceId: string): void {
  if (!resourceInScope(scope, resourceId)) throw new NotFoundError('Resource');
}

/**
 * Tenant-wide pages and actions (hardware stock, token and user imports, the Outbox): a limited
 * admin gets NotFound, as if they did not exist. `what` names the thing in the message.
 */
export function requireWholeTenant(scope: Scope, what = 'Page'): void {
  if (isLimited(scope)) throw new NotFoundError(what);
}

/** Creating a resource would put it outside a limited admin's own scope: refused with the reason. */
export function refuseLimitedCreate(scope: Scope, message: string): void {
  if (isLimited(scope)) throw new ForbiddenError(message);
}

type Builder = Knex.QueryBuilder;

/** `column` (a resource id) is one of the actor's resources; no condition when unlimited. */
export function whereResourceInScope<T extends Builder>(query: T, column: string, scope: Scope): T {
  if (isLimited(scope)) query.whereIn(column, [...scope.resourceIds]);
  return query;
}

/** `column` (a user id) is assigned to at least one of the actor's resources. */
export function whereUserInScope<T extends Builder>(q: Queryable, query: T, column: string, scope: Scope): T {
  if (isLimited(scope)) {
    query.whereIn(column, q('resource_users').where('tenant_id', scope.tenantId).whereIn('resource_id', [...scope.resourceIds]).select('user_id'));
  }
  return query;
}

/** `column` (a token id) is assigned to at least one of the actor's resources. */
export function whereTokenInScope<T extends Builder>(q: Queryable, query: T, column: string, scope: Scope): T {
  if (isLimited(scope)) {
    query.whereIn(column, q('token_resources').where('tenant_id', scope.tenantId).whereIn('resource_id', [...scope.resourceIds]).select('token_id'));
  }
  return query;
}

/** Whether a user (of the tenant) is in scope: one indexed lookup, for single-object checks. */
export async function userInScope(q: Queryable, scope: Scope, userId: string): Promise<boolean> {
  if (!isLimited(scope)) return true;
  return Boolean(await whereResourceInScope(q('resource_users').where({ tenant_id: scope.tenantId, user_id: userId }), 'resource_id', scope).first('user_id'));
}

export async function tokenInScope(q: Queryable, scope: Scope, tokenId: string): Promise<boolean> {
  if (!isLimited(scope)) return true;
  return Boolean(await whereResourceInScope(q('token_resources').where({ tenant_id: scope.tenantId, token_id: tokenId }), 'resource_id', scope).first('token_id'));
}

/**
 * Before a write whose own WHERE (tenant and id) finds the row: NotFound for an id that is no uuid
 * or names a user or token outside a limited actor's scope. An unlimited actor reads nothing.
 */
export async function requireUserInScope(q: Queryable, scope: Scope, userId: string): Promise<void> {
  if (!isUuid(userId) || !(await userInScope(q, scope, userId))) throw new NotFoundError('User');
}

export async function requireTokenInScope(q: Queryable, scope: Scope, tokenId: string): Promise<void> {
  if (!isUuid(tokenId) || !(await tokenInScope(q, scope, tokenId))) throw new NotFoundError('Token');
}
