/** Audit events: written inside the caller's transaction, read per tenant. */
import type { Queryable } from '../db/knex';
import type { PageRequest } from '../lib/pagination';
import type { Actor } from './actor';
import { whereResourceInScope, type Scope } from '../admins/resource-scope';

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string;
  resourceId?: string;
  result?: 'success' | 'failure';
  details?: Record<string, unknown>;
}

export interface AuditEventRow {
  id: number;
  tenant_id: string;
  actor_type: string;
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  resource_id: string | null;
  result: string;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
  created_at: Date;
}

/** Records one event. Call it with the transaction that makes the change, so both commit or neither. */
export async function recordAudit(q: Queryable, actor: Actor, entry: AuditEntry): Promise<void> {
  await q('audit_events').insert(toAuditRow(actor, entry));
}

/** The audit_events row for an event (for statements that write the event together with the change). */
export function toAuditRow(actor: Actor, entry: AuditEntry) {
  return {
    tenant_id: actor.tenantId,
    actor_type: actor.type,
    actor_id: actor.id ?? null,
    actor_label: actor.label ?? null,
    action: entry.action,
    target_type: entry.targetType ?? null,
    target_id: entry.targetId ?? null,
    resource_id: entry.resourceId ?? null,
    result: entry.result ?? 'success',
    ip: actor.ip ?? null,
    user_agent: actor.userAgent?.slice(0, 300) ?? null,
    details: JSON.stringify(entry.details ?? {}),
  };
}

/**
 * Newest first. Events recorded with an admin's id but no label (sign-in steps) get the admin's
 * current email as label, joined within the same tenant only.
 */
export async function listAudit(q: Queryable, tenantId: string, page: PageRequest, scope: Scope): Promise<{ items: AuditEventRow[]; total: number }> {
  // A limited admin sees only events recorded with one of their resources (issue 12 §5).
  const base = q('audit_events').where({ tenant_id: tenantId }).modify((b) => whereResourceInScope(b, 'resource_id', scope));
  const [items, [{ count }]] = await Promise.all([
    q('audit_events as e')
      .leftJoin('admins as a', function () {
        this.on('a.id', '=', 'e.actor_id').andOn('a.tenant_id', '=', 'e.tenant_id').andOn('e.actor_type', '=', q.raw('?', ['admin']));
      })
      .where('e.tenant_id', tenantId)
      .modify((b) => whereResourceInScope(b, 'e.resource_id', scope))
      .orderBy('e.id', 'desc')
      .limit(page.perPage)
      .offset((page.page - 1) * page.perPage)
      .select('e.*', q.raw('coalesce(e.actor_label, a.email) as actor_label')),
    base.clone().count<{ count: string }[]>('* as count'),
  ]);
  return { items, total: Number(count) };
}
