/**
 * An audit event as people read it: one-line time, actor and target by name, action in words.
 * The console table and the CSV export both show these cells, so they never disagree.
 */
import { actionWords, actorTypeWords, targetTypeWords } from './audit-words';
import type { AuditEventView } from './audit-query.repository';

export interface AuditRowText {
  /** "2026-12-06 18:20:11 UTC": one line, seconds kept (events of one sign-in share a minute). */
  time: string;
  actorType: string;
  actor: string;
  action: string;
  targetType: string;
  target: string;
  resource: string;
  result: string;
}

const shortId = (id: string | null) => (id ? id.slice(0, 8) : '');

function detailText(details: Record<string, unknown>, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = details?.[key];
    if (typeof value === 'string' && value) return value;
  }
  return undefined;
}

export function oneLineTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function describeEvent(e: AuditEventView): AuditRowText {
  // A deleted target has no row to name it: the event's own details often still do.
  const target = e.target_type ? (e.target_name ?? detailText(e.details, ['login', 'email', 'name', 'serial']) ?? shortId(e.target_id)) : '';
  return {
    time: oneLineTime(new Date(e.created_at)),
    actorType: actorTypeWords(e.actor_type),
    actor: e.actor_name ?? shortId(e.actor_id),
    action: actionWords(e.action),
    targetType: targetTypeWords(e.target_type),
    target,
    resource: e.resource_name ?? shortId(e.resource_id),
    result: e.result === 'success' ? 'Success' : e.result === 'failure' ? 'Failure' : e.result,
  };
}

export const CSV_HEADER = ['time', 'actor type', 'actor', 'action', 'action id', 'target type', 'target', 'target id', 'resource', 'result', 'ip', 'user agent', 'details', 'event id'];

/** The CSV cells of an event (not yet escaped), in CSV_HEADER order. Times in ISO 8601 for spreadsheets. */
export function csvCells(e: AuditEventView): Array<string | number> {
  const t = describeEvent(e);
  return [new Date(e.created_at).toISOString(), t.actorType, t.actor, t.action, e.action, t.targetType, t.target, e.target_id ?? '', t.resource, e.result, e.ip ?? '', e.user_agent ?? '', JSON.stringify(e.details ?? {}), e.id];
}
