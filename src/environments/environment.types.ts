/** Trusted environments (SPEC §2, §5.3, §5.4): the browsers a user signed in from at a resource's portal. */
import { z } from 'zod';

export interface UserEnvironment {
  id: string;
  tenantId: string;
  resourceId: string;
  userId: string;
  /** SHA-256 (hex) of the random device id in the browser's signed cookie; the id is never stored. */
  deviceHash: string;
  /** The user's name for it; null until they trust or rename it. */
  label: string | null;
  /** "Chrome on Linux": from the User-Agent of the latest sign-in. */
  userAgentSummary: string;
  firstIp: string | null;
  lastIp: string | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  /** Set when the user marked this browser as trusted; only then may it skip the second factor. */
  trustedAt: Date | null;
}

/** A browser unseen this long is forgotten (the device cookie lives as long, refreshed at each sign-in). */
export const ENVIRONMENT_TTL_DAYS = 180;

export const environmentLabelSchema = z
  .string({ error: 'Enter a name for this browser.' })
  .trim()
  .min(1, 'Enter a name for this browser.')
  .max(60, 'Use at most 60 characters.');

/** The label form field (trust, rename). */
export const environmentLabelInput = z.object({ label: environmentLabelSchema });
