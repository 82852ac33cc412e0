/** SQL for admins. Lookups by email are global (an email identifies one admin); everything else is tenant-scoped. */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import type { Admin } from './admin.types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function toAdmin(r: any): Admin {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    email: r.email,
    name: r.name,
    role: r.role,
    hasPassword: Boolean(r.password_hash),
    totpEnrolled: Boolean(r.totp_secret_sealed),
    invitePending: Boolean(r.invite_token_hash),
    disabled: Boolean(r.disabled_at),
    lockedUntil: r.locked_until && new Date(r.locked_until).getTime() > Date.now() ? new Date(r.locked_until) : null,
    lastSignInAt: r.last_sign_in_at,
    createdAt: r.created_at,
    limitedToResources: Boolean(r.limited_to_resources),
  };
}

export interface AdminCredentials {
  id: string;
  tenant_id: string;
  password_hash: string | null;
  totp_secret_sealed: string | null;
  disabled_at: Date | null;
  locked_until: Date | null;
  tenant_disabled_at: Date | null;
}

export async function insertAdmin(q: Queryable, tenantId: string, row: Record<string, unknown>): Promise<Admin> {
  const [created] = await q('admins').insert({ tenant_id: tenantId, ...row }).returning('*');
  return toAdmin(created);
}

/** Credentials for sign-in, joined with the tenant so a disabled tenant cannot sign in. */
export async function findCredentialsByEmail(q: Queryable, email: string): Promise<AdminCredentials | undefined> {
  return q('admins as a')
    .join('tenants as t', 't.id', 'a.tenant_id')
    .whereRaw('lower(a.email) = lower(?)', [email])
    .first('a.id', 'a.tenant_id', 'a.password_hash', 'a.totp_secret_sealed', 'a.disabled_at', 'a.locked_until', 't.disabled_at as tenant_disabled_at');
}

export async function findCredentialsById(q: Queryable, tenantId: string, id: string): Promise<AdminCredentials | undefined> {
  if (!isUuid(id)) return undefined;
  return q('admins as a')
    .join('tenants as t', 't.id', 'a.tenant_id')
    .where({ 'a.tenant_id': tenantId, 'a.id': id })
    .first('a.id', 'a.tenant_id', 'a.password_hash', 'a.totp_secret_sealed', 'a.disabled_at', 'a.locked_until', 't.disabled_at as tenant_disabled_at');
}

export async function findAdmin(q: Queryable, tenantId: string, id: string): Promise<Admin | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('admins').where({ tenant_id: tenantId, id }).first();
  return row ? toAdmin(row) : undefined;
}

export async function updateAdmin(q: Queryable, tenantId: string, id: string, row: Record<string, unknown>): Promise<Admin | undefined> {
  if (!isUuid(id)) return undefined;
  const [updated] = await q('admins').where({ tenant_id: tenantId, id }).update({ ...row, updated_at: q.fn.now() }).returning('*');
  return updated ? toAdmin(updated) : undefined;
}

/**
 * Records a used TOTP step only if it is newer than the last one: an atomic compare-and-set, so a
 * code can be accepted once even when the same code arrives in concurrent requests (SEC-05).
 */
export async function claimTotpStep(q: Queryable, tenantId: string, id: string, step: number): Promise<boolean> {
  const updated = await q('admins').where({ tenant_id: tenantId, id }).andWhere('totp_last_step', '<', step).update({ totp_last_step: step });
  return updated === 1;
}

export async function listAdmins(q: Queryable, tenantId: string): Promise<Admin[]> {
  const rows = await q('admins').where({ tenant_id: tenantId }).orderByRaw('lower(email)');
  return rows.map(toAdmin);
}

export async function countActiveOwners(q: Queryable, tenantId: string): Promise<number> {
  const [{ count }] = await q('admins').where({ tenant_id: tenantId, role: 'owner' }).whereNull('disabled_at').count<{ count: string }[]>('* as count');
  return Number(count);
}

export async function findByInviteHash(q: Queryable, inviteHash: string): Promise<(Admin & { inviteExpiresAt: Date }) | undefined> {
  const row = await q('admins').where({ invite_token_hash: inviteHash }).first();
  return row ? { ...toAdmin(row), inviteExpiresAt: row.invite_expires_at } : undefined;
}

/** Stores the TOTP secret proven at first sign-in, unless one is already enrolled. Returns whether it was stored. */
export async function saveFirstTotpSecret(q: Queryable, tenantId: string, id: string, sealedSecret: string, step: number): Promise<boolean> {
  const updated = await q('admins').where({ tenant_id: tenantId, id }).whereNull('totp_secret_sealed').update({ totp_secret_sealed: sealedSecret, totp_last_step: step });
  return updated === 1;
}

/**
 * Reserves one second-step attempt (TOTP or TOTP enrolment) before the code is checked, in one
 * atomic statement, so concurrent wrong codes cannot buy more guesses than the limit (SEC-07).
 * The attempt that reaches the limit sets the lock in the same statement; a correct code then
 * clears it (`clearSecondStepFailures`). A lock that has run out starts the count afresh.
 * Returns the attempt's number, or undefined while the account is locked.
 */
export async function reserveSecondStepAttempt(q: Queryable, tenantId: string, id: string, limit: number, lockMinutes: number): Promise<number | undefined> {
  const result = await q.raw(
    `WITH next AS (
       SELECT id, CASE WHEN locked_until IS NOT NULL THEN 1 ELSE second_step_failures + 1 END AS attempt
       FROM admins WHERE tenant_id = ? AND id = ? AND (locked_until IS NULL OR locked_until <= now())
       FOR UPDATE
     )
     UPDATE admins a SET second_step_failures = next.attempt,
       locked_until = CASE WHEN next.attempt >= ? THEN now() + make_interval(mins => ?) END
     FROM next WHERE a.id = next.id
     RETURNING next.attempt`,
    [tenantId, id, limit, lockMinutes],
  );
  return result.rows[0]?.attempt;
}

/** After a correct code: the count starts again and any lock set by this sign-in's own reservation ends. */
export async function clearSecondStepFailures(q: Queryable, tenantId: string, id: string): Promise<void> {
  await q('admins').where({ tenant_id: tenantId, id }).update({ second_step_failures: 0, locked_until: null, last_sign_in_at: q.fn.now() });
}

/** Locks the account until `until` unless it is already locked for longer (the password step's limit). */
export async function lockUntil(q: Queryable, tenantId: string, id: string, until: Date): Promise<void> {
  await q('admins')
    .where({ tenant_id: tenantId, id })
    .andWhere((w) => w.whereNull('locked_until').orWhere('locked_until', '<', until))
    .update({ locked_until: until, second_step_failures: 0 });
}

/** Lifts a lock (an owner's action). Returns whether there was one. */
export async function unlock(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const updated = await q('admins').where({ tenant_id: tenantId, id }).where('locked_until', '>', q.fn.now()).update({ locked_until: null, second_step_failures: 0 });
  return updated === 1;
}
