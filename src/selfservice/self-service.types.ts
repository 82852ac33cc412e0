/** The Self-Service configuration of a resource (SPEC §4): portal address, allowed actions, enrollable token types. */
import { z } from 'zod';

export const RESERVED_ADDRESSES = ['www', 'admin', 'api', 'app', 'static', 'portal', 'mail', 'smtp', 'assets', 'status', 'help', 'support'] as const;

export const TOKEN_ACTIONS = [
  ['enroll_token', 'Enroll Token'],
  ['reissue_token', 'Reissue Token'],
  ['assign_token', 'Assign Existing Token'],
  ['unassign_token', 'Unassign Token'],
  ['sync_token', 'Token Synchronization'],
  ['configure_pin', 'Configure PIN'],
] as const;

export const USER_ACTIONS = [
  ['change_email', 'Change Email'],
  ['change_phone', 'Change Phone'],
  ['change_alias', 'Change Alias'],
  ['change_name', 'Change Name'],
  ['change_password', 'Change Password'],
  ['manage_environment', 'Manage User Environment'],
] as const;

export const ACTION_GROUPS = [
  { key: 'token', label: 'Token', actions: TOKEN_ACTIONS },
  { key: 'user', label: 'User', actions: USER_ACTIONS },
] as const;

export const ALLOWED_ACTIONS = [...TOKEN_ACTIONS, ...USER_ACTIONS].map(([id]) => id);
export type AllowedAction = (typeof TOKEN_ACTIONS)[number][0] | (typeof USER_ACTIONS)[number][0];

export const ENROLLMENT_TYPES = [
  ['totp', 'Authenticator app (TOTP)'],
  ['hotp', 'Counter-based (HOTP)'],
  ['email', 'Email code'],
  ['sms', 'SMS code'],
  ['webauthn', 'Security key / passkey (WebAuthn)'],
  ['backup_codes', 'Backup codes'],
] as const;
export const ENROLLMENT_TYPE_IDS = ENROLLMENT_TYPES.map(([id]) => id);
export type EnrollmentType = (typeof ENROLLMENT_TYPES)[number][0];

const LABEL = /^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/;

/** A DNS label, lowercased; empty string or null means "no address" (the portal is deactivated). */
export const addressSchema = z
  .union([z.string({ error: 'Use text for the address, or null to deactivate the portal.' }), z.null()], { error: 'Use text for the address, or null to deactivate the portal.' })
  .transform((v) => (v === null ? '' : v.trim().toLowerCase()))
  .superRefine((v, ctx) => {
    if (v === '') return;
    if (v.length < 3) ctx.addIssue({ code: 'custom', message: 'Use at least 3 characters (a–z, 0–9 and "-").' });
    else if (v.length > 63) ctx.addIssue({ code: 'custom', message: 'Use at most 63 characters.' });
    else if (v.startsWith('-') || v.endsWith('-')) ctx.addIssue({ code: 'custom', message: 'The address cannot start or end with "-".' });
    else if (!LABEL.test(v)) ctx.addIssue({ code: 'custom', message: 'Use only the letters a–z, digits 0–9 and "-".' });
    else if ((RESERVED_ADDRESSES as readonly string[]).includes(v)) ctx.addIssue({ code: 'custom', message: `"${v}" is reserved; choose another address.` });
  })
  .transform((v) => (v === '' ? null : v))
  .meta({ description: '3–63 characters a–z, 0–9 and "-", not starting or ending with "-", unique across the service; reserved names refused; "" or null deactivates the portal.' });

function idList<T extends string>(allowed: readonly T[], what: string) {
  return z
    .array(z.string({ error: `Use ${what} ids (strings).` }), { error: `Send a list of ${what} ids.` })
    .meta({ description: `Enabled ${what} ids, any of: ${allowed.join(', ')}. Unlisted ones are disabled.` })
    .superRefine((ids, ctx) => {
      const unknown = ids.filter((id) => !(allowed as readonly string[]).includes(id));
      if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `Unknown ${what} ${unknown.length === 1 ? 'id' : 'ids'}: ${unknown.join(', ')}. Use any of: ${allowed.join(', ')}.` });
    })
    .transform((ids) => allowed.filter((id) => ids.includes(id)));
}

export const allowedActionsSchema = idList(ALLOWED_ACTIONS as AllowedAction[], 'action');
export const enrollmentTypesSchema = idList(ENROLLMENT_TYPE_IDS as EnrollmentType[], 'token type');

export const selfServiceSchema = z
  .object({
    address: addressSchema,
    allowedActions: allowedActionsSchema.default([]),
    enrollmentTokenTypes: enrollmentTypesSchema.default([]),
  })
  .strict();

/** One sub-tab's part of the configuration (each console sub-tab saves only its own fields). */
export const selfServicePatchSchema = z
  .object({
    address: addressSchema.optional(),
    allowedActions: allowedActionsSchema.optional(),
    enrollmentTokenTypes: enrollmentTypesSchema.optional(),
  })
  .strict();
export type SelfServicePatch = z.output<typeof selfServicePatchSchema>;

export type SelfServiceInput = z.output<typeof selfServiceSchema>;

export interface SelfServiceConfig {
  resourceId: string;
  resourceName: string;
  address: string | null;
  allowedActions: AllowedAction[];
  enrollmentTokenTypes: EnrollmentType[];
}

export interface PortalUrls {
  url: string;
  pathUrl: string;
}
