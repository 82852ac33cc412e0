/**
 * Admin alert kinds (issue 13 §2) and which audit events raise them. Alerts are opt-in per admin
 * and kind; the dispatcher reads each audit event once (audit/fan-out.ts) and mails the
 * subscribers through the outbox.
 */
export const ALERT_KINDS = ['user_locked', 'admin_locked', 'import_finished', 'webhook_disabled', 'api_key_changed'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const ALERT_LABELS: Record<AlertKind, { title: string; hint: string }> = {
  user_locked: { title: 'A user is locked out', hint: 'At most one email per user and resource per hour.' },
  admin_locked: { title: 'An admin account is locked', hint: 'Too many wrong passwords or authenticator codes at console sign-in.' },
  import_finished: { title: 'A user or token import finished or failed', hint: 'With its counts, or the reason it failed.' },
  webhook_disabled: { title: 'A webhook endpoint was disabled', hint: 'After 5 days in which every delivery failed.' },
  api_key_changed: { title: 'An API key was created or revoked', hint: 'Keys act with admin rights in the API.' },
};

export function isAlertKind(value: string): value is AlertKind {
  return (ALERT_KINDS as readonly string[]).includes(value);
}

/** The fields of an audit event the alert rules read. */
export interface AlertEvent {
  id: number;
  tenant_id: string;
  action: string;
  target_id: string | null;
  resource_id: string | null;
  details: Record<string, unknown>;
  actor_label: string | null;
  created_at: Date;
}

/**
 * The alert an event raises, if any. A lockout is `user.lock.notified`, written once per lock on
 * every path (validation API, RADIUS, portal) by the attempt that sets it (lock-notices.ts), and
 * `user.locked` (the portal's own record of the same lock); the hourly throttle makes the pair,
 * and any repeat within the hour, one email.
 */
export function alertKindOf(e: AlertEvent): AlertKind | undefined {
  switch (e.action) {
    case 'user.lock.notified':
    case 'user.locked':
      return 'user_locked';
    case 'admin.lock':
      return 'admin_locked';
    case 'user.import.done':
    case 'user.import.failed':
    case 'token.import.done':
    case 'token.import.failed':
      return 'import_finished';
    case 'webhook.disable':
      return 'webhook_disabled';
    case 'api_key.create':
    case 'api_key.revoke':
      return 'api_key_changed';
    default:
      return undefined;
  }
}
