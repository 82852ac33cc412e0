/**
 * Webhook deliveries: one row per (endpoint, audit event), the state retries and the console read.
 * Attempts are claimed with a lease (next_attempt_at pushed past the attempt's timeout), so two
 * workers never attempt one delivery at once, and a worker killed mid-attempt leaves a row that
 * becomes due again when the lease ends.
 */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import type { PageRequest } from '../lib/pagination';

export type DeliveryStatus = 'pending' | 'delivered' | 'retrying' | 'failed';

export interface Delivery {
  id: string;
  tenantId: string;
  endpointId: string;
  eventId: number;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toDelivery(r: any): Delivery {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    endpointId: r.endpoint_id,
    eventId: r.event_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    nextAttemptAt: r.next_attempt_at,
    lastAttemptAt: r.last_attempt_at,
    deliveredAt: r.delivered_at,
    createdAt: r.created_at,
  };
}

export interface NewDelivery {
  tenantId: string;
  endpointId: string;
  eventId: number;
  eventType: string;
}

/** Inserts deliveries, skipping (endpoint, event) pairs that exist (a fan-out run again); returns the new ids. */
export async function insertDeliveries(q: Queryable, rows: NewDelivery[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const inserted = await q('webhook_deliveries')
    .insert(rows.map((r) => ({ tenant_id: r.tenantId, endpoint_id: r.endpointId, event_id: r.eventId, event_type: r.eventType, next_attempt_at: q.fn.now() })))
    .onConflict(['endpoint_id', 'event_id'])
    .ignore()
    .returning('id');
  return inserted.map((r: { id: string }) => r.id);
}

export async function listDeliveries(q: Queryable, tenantId: string, endpointId: string, page: PageRequest): Promise<{ items: Delivery[]; total: number }> {
  const base = q('webhook_deliveries').where({ tenant_id: tenantId, endpoint_id: endpointId });
  const [rows, [{ count }]] = await Promise.all([
    base.clone().orderBy([{ column: 'created_at', order: 'desc' }, { column: 'event_id', order: 'desc' }]).limit(page.perPage).offset((page.page - 1) * page.perPage),
    base.clone().count<{ count: string }[]>('* as count'),
  ]);
  return { items: rows.map(toDelivery), total: Number(count) };
}

export async function findDelivery(q: Queryable, tenantId: string, endpointId: string, id: string): Promise<Delivery | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('webhook_deliveries').where({ tenant_id: tenantId, endpoint_id: endpointId, id }).first();
  return row ? toDelivery(row) : undefined;
}

/** Dispatcher: deliveries due now (new, retry time reached, or a lease that ran out), oldest first. */
export async function listDue(q: Queryable, limit: number): Promise<Array<{ id: string; attempts: number }>> {
  return q('webhook_deliveries').whereIn('status', ['pending', 'retrying']).where('next_attempt_at', '<=', q.fn.now()).orderBy('next_attempt_at').limit(limit).select('id', 'attempts');
}

/**
 * Claims the next attempt of a due delivery (no tenant context: the job names the delivery by id):
 * counts the attempt and holds it for `leaseMs`. Undefined when it is not due (another worker has
 * it, or it is finished): the job then has nothing to do.
 */
export async function claimAttempt(q: Queryable, id: string, leaseMs: number): Promise<Delivery | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await q('webhook_deliveries')
    .where({ id })
    .whereIn('status', ['pending', 'retrying'])
    .where('next_attempt_at', '<=', q.fn.now())
    .update({ attempts: q.raw('attempts + 1'), last_attempt_at: q.fn.now(), next_attempt_at: q.raw('now() + make_interval(secs => ?)', [leaseMs / 1000]) })
    .returning('*');
  return row ? toDelivery(row) : undefined;
}

export async function markDelivered(q: Queryable, id: string, statusCode: number): Promise<void> {
  await q('webhook_deliveries').where({ id }).update({ status: 'delivered', last_status_code: statusCode, last_error: null, next_attempt_at: null, delivered_at: q.fn.now() });
}

/** A failed attempt: retried after `retryInMs`, or dead (`failed`) when undefined. */
export async function markFailed(q: Queryable, id: string, result: { statusCode?: number; error: string }, retryInMs: number | undefined): Promise<void> {
  await q('webhook_deliveries')
    .where({ id })
    .update({
      status: retryInMs === undefined ? 'failed' : 'retrying',
      last_status_code: result.statusCode ?? null,
      last_error: result.error.slice(0, 500),
      next_attempt_at: retryInMs === undefined ? null : q.raw('now() + make_interval(secs => ?)', [retryInMs / 1000]),
    });
}

/** A dead delivery starts over (same row, same webhook-id, fresh schedule). */
export async function restartDelivery(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  const n = await q('webhook_deliveries').where({ tenant_id: tenantId, id, status: 'failed' }).update({ status: 'pending', attempts: 0, next_attempt_at: q.fn.now() });
  return n === 1;
}

/** An endpoint turned off: its open deliveries end as failed (they can be redelivered later). */
export async function failOpenDeliveries(q: Queryable, tenantId: string, endpointId: string, reason: string): Promise<void> {
  await q('webhook_deliveries').where({ tenant_id: tenantId, endpoint_id: endpointId }).whereIn('status', ['pending', 'retrying']).update({ status: 'failed', last_error: reason, next_attempt_at: null });
}
