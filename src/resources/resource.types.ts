import { z } from 'zod';

export interface Resource {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  failedAttemptsLimit: number;
  lockMinutes: number;
  pinPosition: 'before' | 'after';
  maxTokensPerUser: number;
  requireSecondFactor: boolean;
  totpWindow: number;
  /** §5.4: a browser the user trusted in this resource skips the second factor. */
  trustedEnvironmentSkipsSecondFactor: boolean;
  /** §5.4: email the user when they sign in from a browser not seen before in this resource. */
  notifyNewEnvironment: boolean;
  /** Disabled resources validate nothing and serve no portal (SEC-15). */
  disabled: boolean;
  /** Issue 12 §3: days an enrolment invitation stays valid. */
  invitationDays: number;
  /** Issue 12 §3: days after an invitation when reminders go out (empty: no reminders). */
  invitationReminderDays: number[];
  createdAt: Date;
  updatedAt: Date;
}

/** The settings of SPEC §2, shared by the console and the API. */
export const resourceSettingsSchema = z.object({
  name: z.string({ error: 'Enter a name.' }).trim().min(1, 'Enter a name.').max(100, 'Use at most 100 characters.'),
  description: z.string().trim().max(1000, 'Use at most 1000 characters.').optional(),
  failedAttemptsLimit: z.number({ error: 'Enter a whole number from 3 to 10.' }).int().min(3, 'Use a number from 3 to 10.').max(10, 'Use a number from 3 to 10.').optional(),
  lockMinutes: z.number({ error: 'Enter a number of minutes (0 = until an admin unlocks).' }).int().min(0, 'Use 0 or more minutes.').max(43200, 'Use at most 43200 minutes (30 days).').optional(),
  pinPosition: z.enum(['before', 'after'], { error: 'Choose "before" or "after".' }).optional(),
  maxTokensPerUser: z.number({ error: 'Enter a whole number from 1 to 20.' }).int().min(1, 'Use a number from 1 to 20.').max(20, 'Use a number from 1 to 20.').optional(),
  requireSecondFactor: z.boolean({ error: 'Use true or false.' }).optional(),
  totpWindow: z.number({ error: 'Enter a whole number from 0 to 10.' }).int().min(0, 'Use a number from 0 to 10.').max(10, 'Use a number from 0 to 10.').optional(),
  trustedEnvironmentSkipsSecondFactor: z.boolean({ error: 'Use true or false.' }).optional(),
  notifyNewEnvironment: z.boolean({ error: 'Use true or false.' }).optional(),
  invitationDays: z.number({ error: 'Enter a whole number of days from 1 to 365.' }).int().min(1, 'Use 1 to 365 days.').max(365, 'Use 1 to 365 days.').optional(),
  invitationReminderDays: z
    .array(z.number({ error: 'Enter whole numbers of days.' }).int().min(1, 'Use days from 1 to 365.').max(365, 'Use days from 1 to 365.'), { error: 'Enter a list of days, e.g. [2, 10] (empty: no reminders).' })
    .max(5, 'Use at most 5 reminders.')
    // Sorted and without repeats: each reminder goes out once, in order.
    .transform((days) => [...new Set(days)].sort((a, b) => a - b))
    .optional(),
}).strict();

export const resourceCreateSchema = resourceSettingsSchema;
export const resourcePatchSchema = resourceSettingsSchema.partial().strict();

export type ResourceCreateInput = z.output<typeof resourceCreateSchema>;
export type ResourcePatchInput = z.output<typeof resourcePatchSchema>;

export const RESOURCE_DEFAULTS = {
  description: '',
  failedAttemptsLimit: 5,
  lockMinutes: 5,
  pinPosition: 'before',
  maxTokensPerUser: 1,
  requireSecondFactor: false,
  totpWindow: 1,
  trustedEnvironmentSkipsSecondFactor: false,
  notifyNewEnvironment: false,
  // invitationDays (30) and invitationReminderDays ({2,10}) take the database's defaults.
} as const;
