/**
 * Webhook event types: the audit actions (issue 13 §1), listed here once for validation of
 * endpoint filters and for the OpenAPI document. An action written by new code must be added
 * here to be subscribable by name (`"*"` receives every action, listed or not).
 */
export const EVENT_TYPES = [
  'admin.create', 'admin.disable', 'admin.enable', 'admin.invite', 'admin.invite.accept', 'admin.lock',
  'admin.role.change', 'admin.sign_in', 'admin.totp.enroll', 'admin.unlock', 'admin.alerts.update',
  'api_key.create', 'api_key.revoke',
  'authenticate', 'challenge.request',
  'invitation.cancel', 'invitation.create', 'invitation.reminder', 'invitation.resend',
  'portal.environment.new', 'portal.environment.remove', 'portal.environment.rename', 'portal.environment.trust',
  'portal.profile.alias_change', 'portal.profile.name_change', 'portal.profile.password_change',
  'portal.profile.email_change', 'portal.profile.email_change.code_sent', 'portal.profile.email_change.cancelled',
  'portal.profile.phone_change', 'portal.profile.phone_change.code_sent', 'portal.profile.phone_change.cancelled',
  'portal.sign_in', 'portal.sign_in.code_sent', 'portal.sign_in.first_factor', 'portal.sign_out',
  'portal.token.claim', 'portal.token.enroll', 'portal.token.enroll_start',
  'resource.create', 'resource.delete', 'resource.self_service.update', 'resource.token.assign', 'resource.token.unassign',
  'resource.update', 'resource.user.assign', 'resource.user.unassign', 'resource.user.unlock',
  'tenant.create', 'tenant.disabled', 'tenant.enabled',
  'token.create', 'token.delete', 'token.disable', 'token.drift.reset', 'token.enable', 'token.failures.reset',
  'token.import.done', 'token.import.failed', 'token.import.start', 'token.pin.clear', 'token.pin.set',
  'token.reissue', 'token.reissue.start', 'token.resync', 'token.update', 'token.verify',
  'user.block', 'user.create', 'user.delete', 'user.import.done', 'user.import.failed', 'user.import.start',
  'user.locked', 'user.unblock', 'user.update',
  'webhook.create', 'webhook.update', 'webhook.delete', 'webhook.secret.rotate', 'webhook.disable', 'webhook.redeliver',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const KNOWN = new Set<string>(EVENT_TYPES);

export function isEventType(value: string): boolean {
  return KNOWN.has(value);
}

/** Whether an endpoint with this filter receives an event of this type. */
export function matchesFilter(filter: readonly string[], type: string): boolean {
  return filter.includes('*') || filter.includes(type);
}
