/**
 * The audit log in words: action ids ("user.block") as people read them ("Blocked user"), and
 * the names of actor and target types. One table for the console, the CSV export and the
 * console's action filter. Action ids are a stored contract (rows keep them forever), so an id
 * missing here still reads sensibly through `actionWords`' fallback.
 */

export const ACTION_WORDS: Readonly<Record<string, string>> = {
  'tenant.create': 'Created organisation',
  'tenant.disabled': 'Disabled organisation',
  'tenant.enabled': 'Enabled organisation',
  'audit.retention.changed': 'Changed audit log retention',
  'audit.purged': 'Deleted expired audit events',
  'admin.create': 'Created admin',
  'admin.invite': 'Invited admin',
  'admin.invite.accept': 'Accepted admin invitation',
  'admin.role.change': 'Changed admin role',
  'admin.disable': 'Disabled admin',
  'admin.enable': 'Enabled admin',
  'admin.sign_in': 'Admin sign-in',
  'admin.resources.change': 'Changed the resources of an admin',
  'admin.alerts.update': 'Changed alert emails',
  'webhook.create': 'Created webhook',
  'webhook.update': 'Changed webhook',
  'webhook.delete': 'Deleted webhook',
  'webhook.secret.rotate': 'Rotated webhook secret',
  'webhook.disable': 'Disabled failing webhook',
  'webhook.redeliver': 'Redelivered webhook event',
  'user.lock.notified': 'Emailed user about lock',
  'portal.sign_in.code_shared': 'Shared open sign-in code (portal)',
  'portal.profile.email_removed': 'Removed email (portal)',
  'portal.profile.phone_removed': 'Removed phone (portal)',
  'admin.totp.enroll': 'Set up admin authenticator',
  'admin.lock': 'Locked admin',
  'admin.unlock': 'Unlocked admin',
  'api_key.create': 'Created API key',
  'api_key.revoke': 'Revoked API key',
  'resource.create': 'Created resource',
  'resource.update': 'Changed resource',
  'resource.delete': 'Deleted resource',
  'resource.self_service.update': 'Changed self-service settings',
  'resource.user.assign': 'Assigned user to resource',
  'resource.user.unassign': 'Removed user from resource',
  'resource.user.unlock': 'Unlocked user',
  'resource.token.assign': 'Assigned token',
  'resource.token.unassign': 'Unassigned token',
  'user.create': 'Created user',
  'user.update': 'Changed user',
  'user.delete': 'Deleted user',
  'user.block': 'Blocked user',
  'user.unblock': 'Unblocked user',
  'user.locked': 'Locked user (too many failures)',
  'user.import.start': 'Started user import',
  'user.import.done': 'Finished user import',
  'user.import.failed': 'User import failed',
  'token.create': 'Created token',
  'token.update': 'Changed token',
  'token.delete': 'Deleted token',
  'token.enable': 'Enabled token',
  'token.disable': 'Disabled token',
  'token.pin.set': 'Set token PIN',
  'token.pin.clear': 'Removed token PIN',
  'token.resync': 'Resynchronised token',
  'token.drift.reset': 'Reset token drift',
  'token.failures.reset': 'Reset token failures',
  'token.verify': 'Checked token code',
  'token.reissue.start': 'Started token reissue',
  'token.reissue': 'Reissued token',
  'token.import.start': 'Started token import',
  'token.import.done': 'Finished token import',
  'token.import.failed': 'Token import failed',
  authenticate: 'Authentication',
  'challenge.request': 'Sent a code (email/SMS)',
  'invitation.create': 'Invited user to enrol',
  'invitation.resend': 'Resent enrolment invitation',
  'invitation.reminder': 'Sent enrolment reminder',
  'invitation.cancel': 'Cancelled enrolment invitation',
  'portal.sign_in': 'Portal sign-in',
  'portal.sign_in.first_factor': 'Portal sign-in, first step',
  'portal.sign_in.code_sent': 'Portal sign-in code sent',
  'portal.sign_out': 'Portal sign-out',
  'portal.token.enroll_start': 'Started token enrolment (portal)',
  'portal.token.enroll': 'Enrolled token (portal)',
  'portal.token.claim': 'Claimed hardware token (portal)',
  'portal.profile.name_change': 'Changed name (portal)',
  'portal.profile.alias_change': 'Changed alias (portal)',
  'portal.profile.password_change': 'Changed password (portal)',
  'portal.profile.email_change': 'Changed email (portal)',
  'portal.profile.email_change.code_sent': 'Sent email change code (portal)',
  'portal.profile.email_change.cancelled': 'Cancelled email change (portal)',
  'portal.profile.phone_change': 'Changed phone (portal)',
  'portal.profile.phone_change.code_sent': 'Sent phone change code (portal)',
  'portal.profile.phone_change.cancelled': 'Cancelled phone change (portal)',
  'portal.environment.new': 'Signed in from a new browser (portal)',
  'portal.environment.trust': 'Trusted a browser (portal)',
  'portal.environment.rename': 'Renamed a trusted browser (portal)',
  'portal.environment.remove': 'Removed a trusted browser (portal)',
};

/** The action ids the filter offers, in the order of their words. */
export const KNOWN_ACTIONS: readonly string[] = Object.keys(ACTION_WORDS).sort((a, b) => ACTION_WORDS[a].localeCompare(ACTION_WORDS[b]));

/** "user.block" → "Blocked user"; an id not in the table → "User: block" (never blank, never the raw dots). */
export function actionWords(action: string): string {
  const known = ACTION_WORDS[action];
  if (known) return known;
  const [head, ...rest] = action.split('.');
  const words = (s: string) => s.replace(/_/g, ' ');
  const subject = words(head).replace(/^./, (c) => c.toUpperCase());
  return rest.length ? `${subject}: ${rest.map(words).join(' ')}` : subject;
}

export const ACTOR_TYPES = ['admin', 'api_key', 'user', 'system'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

export const ACTOR_TYPE_WORDS: Readonly<Record<ActorType, string>> = { admin: 'Admin', api_key: 'API key', user: 'User', system: 'System' };

const TARGET_TYPE_WORDS: Readonly<Record<string, string>> = {
  user: 'User',
  admin: 'Admin',
  api_key: 'API key',
  resource: 'Resource',
  token: 'Token',
  tenant: 'Organisation',
  token_import: 'Token import',
  user_import: 'User import',
  user_environment: 'Browser',
};

export function targetTypeWords(type: string | null): string {
  if (!type) return '';
  return TARGET_TYPE_WORDS[type] ?? type.replace(/_/g, ' ');
}

export function actorTypeWords(type: string): string {
  return ACTOR_TYPE_WORDS[type as ActorType] ?? type.replace(/_/g, ' ');
}
