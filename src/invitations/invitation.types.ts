/** Enrolment invitations (issue 12 §3): request shapes and the reasons a user is skipped. */
import { z } from 'zod';

export type InvitationStatus = 'invited' | 'expired' | 'cancelled' | 'enrolled';
export type PendingEmail = 'invitation' | 'reminder';

export const SKIP_REASONS = ['not_assigned', 'enrolled', 'blocked', 'no_email', 'invited_recently'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/**
 * At most this many ids in one request: 2000 UUIDs fit the API's 100 kB JSON limit with room to
 * spare; a whole organisation goes through `filter`, and larger selections in several calls.
 */
export const MAX_USER_IDS = 2000;

const userIdsSchema = z.object({
  userIds: z
    .array(z.uuid({ error: 'Each user id must be a UUID.' }), { error: 'Send userIds as a list of user ids.' })
    .min(1, 'Choose at least one user.')
    .max(MAX_USER_IDS, `Send at most ${MAX_USER_IDS} user ids; use {"filter": "not_enrolled"} for everyone.`),
}).strict();
const filterSchema = z.object({ filter: z.literal('not_enrolled', { error: 'The only filter is "not_enrolled".' }) }).strict();

/** `{userIds}` or `{filter}`: picked by the key present, so the error names the field that is wrong. */
export const inviteSchema = (input: unknown) => (input && typeof input === 'object' && 'filter' in input ? filterSchema : userIdsSchema);
export type InviteInput = z.output<typeof userIdsSchema> | z.output<typeof filterSchema>;

export interface InviteResult {
  invited: number;
  skipped: Array<{ userId: string; reason: SkipReason }>;
}
