/** Outgoing messages (email, SMS). A job carries only the message id; the row carries the content. */
import { fetchPage } from '../db/paging';
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import type { PageRequest } from '../lib/pagination';

export type MessageStatus = 'queued' | 'sent' | 'captured' | 'failed';

export interface Message {
  id: string;
  tenantId: string | null;
  channel: 'email' | 'sms';
  recipient: string;
  subject: string;
  bodyText: string | null;
  status: MessageStatus;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toMessage(r: any): Message {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    channel: r.channel,
    recipient: r.recipient,
    subject: r.subject,
    bodyText: r.body_text,
    status: r.status,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  };
}

export interface NewMessage {
  channel?: 'email' | 'sms';
  recipient: string;
  subject: string;
  bodyText: string;
}

export async function insertMessage(q: Queryable, tenantId: string | null, m: NewMessage): Promise<Message> {
  const [row] = await q('messages')
    .insert({ tenant_id: tenantId, channel: m.channel ?? 'email', recipient: m.recipient, subject: m.subject, body_text: m.bodyText })
    .returning('*');
  return toMessage(row);
}

/** For the job processor, which runs outside any tenant context: the job names the message by id. */
export async function findMessageForDelivery(q: Queryable, id: string): Promise<Message | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('messages').where({ id }).first();
  return row ? toMessage(row) : undefined;
}

/**
 * Marks a queued message delivered. Only a still-queued row changes, so a second delivery of the
 * same job cannot send twice once the first has finished. After SMTP delivery the body is dropped:
 * messages may hold one-time codes, which must not stay in the database.
 */
export async function markDelivered(q: Queryable, id: string, status: 'sent' | 'captured'): Promise<boolean> {
  const patch: Record<string, unknown> = { status, delivered_at: q.fn.now(), last_error: null };
  if (status === 'sent') patch.body_text = null;
  return (await q('messages').where({ id, status: 'queued' }).update(patch)) === 1;
}

export async function recordAttemptFailure(q: Queryable, id: string, error: string, final: boolean): Promise<void> {
  await q('messages')
    .where({ id })
    .update({ attempts: q.raw('attempts + 1'), last_error: error.slice(0, 500), ...(final ? { status: 'failed' } : {}) });
}

export const SWEEP_PAGE_SIZE = 100;

/** Where a page of the sweep ended: the next page starts after this row. */
export interface QueuedCursor {
  id: string;
  /** As PostgreSQL prints it: a Date would drop the microseconds and repeat rows (or a whole page). */
  createdAt: string;
}

/**
 * One page of queued messages created before `before`, oldest first, after `after`: the sweep
 * re-enqueues them if their job was lost. Keyset paging, as rows leave the set while it pages.
 */
export async function listStaleQueued(q: Queryable, before: Date, after?: QueuedCursor): Promise<QueuedCursor[]> {
  const query = q('messages').where({ status: 'queued' }).andWhere('created_at', '<', before);
  if (after) query.andWhereRaw('(created_at, id) > (?::timestamptz, ?::uuid)', [after.createdAt, after.id]);
  const rows = await query.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(SWEEP_PAGE_SIZE).select('id', q.raw('created_at::text as created_at'));
  return rows.map((r) => ({ id: r.id, createdAt: r.created_at }));
}

export async function listMessages(q: Queryable, tenantId: string, page: PageRequest): Promise<{ items: Message[]; total: number }> {
  const base = q('messages').where({ tenant_id: tenantId });
  const { rows, total } = await fetchPage(base, page, (query) => query.orderBy('created_at', 'desc'));
  return { items: rows.map(toMessage), total };
}

export async function findMessage(q: Queryable, tenantId: string, id: string): Promise<Message | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('messages').where({ tenant_id: tenantId, id }).first();
  return row ? toMessage(row) : undefined;
}
