/** Webhook endpoints: SQL only, every query scoped by tenant (the dispatcher's reads are marked). */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';

export interface WebhookEndpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string | null;
  events: string[];
  disabledAt: Date | null;
  disabledReason: string | null;
  failingSince: Date | null;
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An endpoint with its sealed secrets, for signing only (never serialized). */
export interface EndpointSecrets {
  id: string;
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretExpiresAt: Date | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toEndpoint(r: any): WebhookEndpoint {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    url: r.url,
    description: r.description,
    events: r.events,
    disabledAt: r.disabled_at,
    disabledReason: r.disabled_reason,
    failingSince: r.failing_since,
    previousSecretExpiresAt: r.previous_secret_expires_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function insertEndpoint(q: Queryable, tenantId: string, input: { id: string; url: string; description: string | null; events: string[]; secretSealed: string }): Promise<WebhookEndpoint> {
  const [row] = await q('webhook_endpoints')
    .insert({ id: input.id, tenant_id: tenantId, url: input.url, description: input.description, events: input.events, secret_sealed: input.secretSealed })
    .returning('*');
  return toEndpoint(row);
}

export async function findEndpoint(q: Queryable, tenantId: string, id: string): Promise<WebhookEndpoint | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('webhook_endpoints').where({ tenant_id: tenantId, id }).first();
  return row ? toEndpoint(row) : undefined;
}

export async function listEndpoints(q: Queryable, tenantId: string): Promise<WebhookEndpoint[]> {
  const rows = await q('webhook_endpoints').where({ tenant_id: tenantId }).orderBy('created_at', 'asc');
  return rows.map(toEndpoint);
}

export async function updateEndpoint(q: Queryable, tenantId: string, id: string, patch: Record<string, unknown>): Promise<WebhookEndpoint | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await q('webhook_endpoints').where({ tenant_id: tenantId, id }).update({ ...patch, updated_at: q.fn.now() }).returning('*');
  return row ? toEndpoint(row) : undefined;
}

export async function deleteEndpoint(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  return (await q('webhook_endpoints').where({ tenant_id: tenantId, id }).delete()) === 1;
}

/** Moves the current secret to "previous" for `overlapHours` and stores the new one. */
export async function rotateSecret(q: Queryable, tenantId: string, id: string, newSealed: string, overlapHours: number): Promise<boolean> {
  if (!isUuid(id)) return false;
  const updated = await q('webhook_endpoints')
    .where({ tenant_id: tenantId, id })
    .update({
      previous_secret_sealed: q.ref('secret_sealed'),
      previous_secret_expires_at: q.raw(`now() + make_interval(hours => ?)`, [overlapHours]),
      secret_sealed: newSealed,
      updated_at: q.fn.now(),
    });
  return updated === 1;
}

/** Dispatcher (no tenant context: it serves the tenants of the events it reads): enabled endpoints of these tenants. */
export async function enabledEndpointsOf(q: Queryable, tenantIds: string[]): Promise<WebhookEndpoint[]> {
  if (tenantIds.length === 0) return [];
  const rows = await q('webhook_endpoints').whereIn('tenant_id', tenantIds).whereNull('disabled_at');
  return rows.map(toEndpoint);
}

/** Deliverer: the secrets of an endpoint, within the delivery's tenant. */
export async function findSecrets(q: Queryable, tenantId: string, id: string): Promise<(EndpointSecrets & { url: string; disabledAt: Date | null }) | undefined> {
  const row = await q('webhook_endpoints').where({ tenant_id: tenantId, id }).first('id', 'url', 'disabled_at', 'secret_sealed', 'previous_secret_sealed', 'previous_secret_expires_at');
  if (!row) return undefined;
  return { id: row.id, url: row.url, disabledAt: row.disabled_at, secretSealed: row.secret_sealed, previousSecretSealed: row.previous_secret_sealed, previousSecretExpiresAt: row.previous_secret_expires_at };
}
