/** SQL for resources. Every query is scoped by tenant id. */
import { fetchPage } from '../db/paging';
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import type { PageRequest } from '../lib/pagination';
import type { Resource, ResourceCreateInput, ResourcePatchInput } from './resource.types';
import { whereResourceInScope, type Scope } from '../admins/resource-scope';

const COLUMNS: Record<keyof ResourcePatchInput, string> = {
  name: 'name',
  description: 'description',
  failedAttemptsLimit: 'failed_attempts_limit',
  lockMinutes: 'lock_minutes',
  pinPosition: 'pin_position',
  maxTokensPerUser: 'max_tokens_per_user',
  requireSecondFactor: 'require_second_factor',
  totpWindow: 'totp_window',
  trustedEnvironmentSkipsSecondFactor: 'trusted_environment_skips_second_factor',
  notifyNewEnvironment: 'notify_new_environment',
  invitationDays: 'invitation_days',
  invitationReminderDays: 'invitation_reminder_days',
};

function toRow(input: ResourcePatchInput): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(COLUMNS)) {
    const value = input[key as keyof ResourcePatchInput];
    if (value !== undefined) row[column] = value;
  }
  return row;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toResource(r: any): Resource {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    description: r.description,
    failedAttemptsLimit: r.failed_attempts_limit,
    lockMinutes: r.lock_minutes,
    pinPosition: r.pin_position,
    maxTokensPerUser: r.max_tokens_per_user,
    requireSecondFactor: r.require_second_factor,
    totpWindow: r.totp_window,
    trustedEnvironmentSkipsSecondFactor: r.trusted_environment_skips_second_factor,
    notifyNewEnvironment: r.notify_new_environment,
    disabled: r.disabled_at != null,
    invitationDays: r.invitation_days,
    invitationReminderDays: r.invitation_reminder_days ?? [],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function insertResource(q: Queryable, tenantId: string, input: ResourceCreateInput): Promise<Resource> {
  const [row] = await q('resources').insert({ tenant_id: tenantId, ...toRow(input) }).returning('*');
  return toResource(row);
}

export async function updateResource(q: Queryable, tenantId: string, id: string, patch: ResourcePatchInput): Promise<Resource | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await q('resources')
    .where({ tenant_id: tenantId, id })
    .update({ ...toRow(patch), updated_at: q.fn.now() })
    .returning('*');
  return row ? toResource(row) : undefined;
}

export async function findResource(q: Queryable, tenantId: string, id: string): Promise<Resource | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('resources').where({ tenant_id: tenantId, id }).first();
  return row ? toResource(row) : undefined;
}

export async function deleteResource(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  return (await q('resources').where({ tenant_id: tenantId, id }).delete()) > 0;
}

export interface ResourceListItem extends Resource {
  userCount: number;
}

/** The scope's resources (all of the tenant's for an unlimited actor). */
export async function listResources(q: Queryable, scope: Scope, search: string, page: PageRequest): Promise<{ items: ResourceListItem[]; total: number }> {
  const base = whereResourceInScope(q('resources').where('resources.tenant_id', scope.tenantId), 'resources.id', scope);
  if (search) base.whereILike('resources.name', `%${escapeLike(search)}%`);
  const { rows, total } = await fetchPage(base, page, (query) =>
    query.select('resources.*', q.raw('(SELECT count(*) FROM resource_users ru WHERE ru.resource_id = resources.id)::int AS user_count')).orderByRaw('lower(resources.name)'),
  );
  return { items: rows.map((r) => ({ ...toResource(r), userCount: r.user_count })), total };
}

export interface ResourceOption {
  id: string;
  name: string;
}

/**
 * The scope's resources by name, id and name only: for the pickers of other pages, which must not
 * pay for the member counts of the resources list.
 */
export async function listResourceOptions(q: Queryable, scope: Scope): Promise<ResourceOption[]> {
  const query = whereResourceInScope(q('resources').where('resources.tenant_id', scope.tenantId), 'resources.id', scope);
  return query.select('resources.id', 'resources.name').orderByRaw('lower(resources.name)');
}

/** Escapes LIKE wildcards so a search for "50%" means the text "50%". */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
