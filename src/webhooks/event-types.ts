/**
 * Webhook event types: the audit actions (issue 13 §1), for validation of endpoint filters and
 * for the OpenAPI document. The list is the audit log's own (audit-words.ts), so an action has
 * words and is subscribable by name at once; `"*"` receives every action.
 */
import { ACTION_WORDS } from '../audit/audit-words';

export const EVENT_TYPES: readonly string[] = Object.keys(ACTION_WORDS).sort();


const KNOWN = new Set<string>(EVENT_TYPES);

export function isEventType(value: string): boolean {
  return KNOWN.has(value);
}

/** Whether an endpoint with this filter receives an event of this type. */
export function matchesFilter(filter: readonly string[], type: string): boolean {
  return filter.includes('*') || filter.includes(type);
}
