/** Audit events: written inside the caller's transaction (reads: audit-query.repository.ts). */
import type { Queryable } from '../db/knex';
import type { Actor } from './actor';

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
