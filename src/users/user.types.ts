import { z } from 'zod';

export interface User {
  id: string;
  tenantId: string;
  login: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  hasPassword: boolean;
  blocked: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const optionalText = (max: number, message: string) =>
  z.string().trim().max(max, message).nullable().optional().transform((v) => (v === '' ? null : v));

export const userFieldsSchema = z.object({
  login: z
    .string({ error: 'Enter a login.' })
    .trim()
    .min(1, 'Enter a login.')
    .max(100, 'Use at most 100 characters.')
    .regex(/^[\p{L}\p{N}._@+-]+$/u, 'Use letters, digits and . _ @ + - only (no spaces).'),
  email: z
    .union([z.literal(''), z.email('Enter a valid email address, like name@example.com.').max(254)])
    .nullable()
    .optional()
    .transform((v) => (v === '' ? null : v?.toLowerCase() ?? v)),
  phone: z
    .union([z.literal(''), z.string().trim().regex(/^\+[1-9]\d{6,14}$/, 'Enter the number in international format, like +14155550123.')])
    .nullable()
    .optional()
    .transform((v) => (v === '' ? null : v)),
  firstName: optionalText(100, 'Use at most 100 characters.'),
  lastName: optionalText(100, 'Use at most 100 characters.'),
  password: z.string().max(128, 'Use at most 128 characters.').optional(),
});

export const userCreateSchema = userFieldsSchema.strict();
export const userPatchSchema = userFieldsSchema.partial().extend({ password: z.string().max(128).nullable().optional() }).strict();

export type UserCreateInput = z.output<typeof userCreateSchema>;
export type UserPatchInput = z.output<typeof userPatchSchema>;

export interface UserResourceAssignment {
  resourceId: string;
  resourceName: string;
  failCount: number;
  lockedUntil: Date | null;
  assignedAt: Date;
}
