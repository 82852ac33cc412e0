/**
 * The API's response shapes. Each is a zod schema (used for the OpenAPI document and the TS type)
 * plus an explicit mapper, so a new column never leaks into the API by accident (no tenantId, no
 * password hash). Dates go out as ISO 8601 strings.
 */
import { z } from 'zod';
import type { Page } from '../lib/pagination';
import type { Resource } from '../resources/resource.types';
import type { User, UserResourceAssignment } from '../users/user.types';

const isoDate = z.iso.datetime();

export const resourceJson = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  failedAttemptsLimit: z.int(),
  lockMinutes: z.int().describe('0 = locked until an admin unlocks'),
  pinPosition: z.enum(['before', 'after']),
  maxTokensPerUser: z.int(),
  requireSecondFactor: z.boolean(),
  totpWindow: z.int(),
  trustedEnvironmentSkipsSecondFactor: z.boolean().describe('a browser the user marked as trusted in this resource\'s portal skips the second factor'),
  notifyNewEnvironment: z.boolean().describe('email the user on a portal sign-in from a browser not seen before'),
  invitationDays: z.int().describe('days an enrolment invitation stays valid (1 to 365, default 30)'),
  invitationReminderDays: z.array(z.int()).describe('days after an invitation when a reminder goes to those not yet enrolled (default [2, 10]; empty: no reminders)'),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const userJson = z.object({
  id: z.uuid(),
  login: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  hasPassword: z.boolean(),
  blocked: z.boolean(),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const assignmentJson = z.object({
  resourceId: z.uuid(),
  resourceName: z.string(),
  failCount: z.int(),
  locked: z.boolean(),
  lockedUntil: isoDate.nullable().describe('null while locked means "until an admin unlocks"'),
  assignedAt: isoDate,
});

export const errorJson = z.object({
  error: z.object({
    code: z.string().describe('machine-readable, e.g. unauthorized, not_found, validation_failed, conflict, invalid_json'),
    message: z.string().describe('a sentence a person can act on'),
    fields: z.record(z.string(), z.string()).optional().describe('one message per invalid field ("_" for the body as a whole)'),
  }),
});

export type ResourceJson = z.infer<typeof resourceJson>;
export type UserJson = z.infer<typeof userJson>;
export type AssignmentJson = z.infer<typeof assignmentJson>;
export interface PageJson<T> {
  items: T[];
  page: number;
  perPage: number;
  total: number;
}

export function serializeResource(r: Resource): ResourceJson {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    failedAttemptsLimit: r.failedAttemptsLimit,
    lockMinutes: r.lockMinutes,
    pinPosition: r.pinPosition,
    maxTokensPerUser: r.maxTokensPerUser,
    requireSecondFactor: r.requireSecondFactor,
    totpWindow: r.totpWindow,
    trustedEnvironmentSkipsSecondFactor: r.trustedEnvironmentSkipsSecondFactor,
    notifyNewEnvironment: r.notifyNewEnvironment,
    invitationDays: r.invitationDays,
    invitationReminderDays: r.invitationReminderDays,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function serializeUser(u: User): UserJson {
  return {
    id: u.id,
    login: u.login,
    email: u.email,
    phone: u.phone,
    firstName: u.firstName,
    lastName: u.lastName,
    hasPassword: u.hasPassword,
    blocked: u.blocked,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
  };
}

/** pg turns `infinity` (locked until an admin unlocks) into the number Infinity rather than a Date. */
export function serializeAssignment(a: UserResourceAssignment, now = Date.now()): AssignmentJson {
  const until = a.lockedUntil as Date | number | null;
  const untilMs = until === null ? null : typeof until === 'number' ? until : until.getTime();
  return {
    resourceId: a.resourceId,
    resourceName: a.resourceName,
    failCount: a.failCount,
    locked: untilMs !== null && untilMs > now,
    lockedUntil: until instanceof Date ? until.toISOString() : null,
    assignedAt: a.assignedAt.toISOString(),
  };
}

export function serializePage<T, J>(page: Page<T>, map: (item: T) => J): PageJson<J> {
  return { items: page.items.map(map), page: page.page, perPage: page.perPage, total: page.total };
}
