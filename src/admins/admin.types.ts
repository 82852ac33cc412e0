import { z } from 'zod';
import type { Role } from '../audit/actor';
import { passwordProblem } from '../lib/passwords';

export interface Admin {
  id: string;
  tenantId: string;
  email: string;
  name: string | null;
  role: Role;
  hasPassword: boolean;
  totpEnrolled: boolean;
  invitePending: boolean;
  disabled: boolean;
  /** Set while wrong sign-in attempts keep the account locked (ends by itself, or an owner lifts it). */
  lockedUntil: Date | null;
  lastSignInAt: Date | null;
  createdAt: Date;
  /** Role `admin` only: sees just `resourceIds` (issue 12 §5). The flag, so that no resources left means none, not all. */
  limitedToResources: boolean;
  /** Loaded where needed (sign-in checks, the Admins page) for a limited admin. */
  resourceIds?: string[];
}

export const ROLES = ['owner', 'admin', 'auditor'] as const;

export const emailSchema = z.string({ error: 'Enter an email address.' }).trim().toLowerCase().pipe(z.email('Enter a valid email address, like name@example.com.').max(254));

export const signUpSchema = z.object({
  organisation: z.string({ error: 'Enter your organisation name.' }).trim().min(1, 'Enter your organisation name.').max(100, 'Use at most 100 characters.'),
  email: emailSchema,
  // The password rule sits in the schema so one submit names every field's problem (issue 15 §10).
  password: z.string({ error: 'Choose a password.' }).superRefine((value, ctx) => {
    const problem = value === '' ? 'Choose a password.' : passwordProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
});

const resourceIdsSchema = z.array(z.string(), { error: 'Choose resources from the list.' }).max(1000, 'Choose at most 1000 resources.');

export const inviteSchema = z.object({
  email: emailSchema,
  role: z.enum(ROLES, { error: 'Choose a role.' }),
  /** An admin limited to `resourceIds` (issue 12 §5); absent or false: every resource. */
  limited: z.boolean().optional(),
  resourceIds: resourceIdsSchema.optional(),
});

export const resourceScopeSchema = z.object({
  limited: z.boolean({ error: 'Choose "All resources" or "Only these resources".' }),
  resourceIds: resourceIdsSchema.default([]),
});
