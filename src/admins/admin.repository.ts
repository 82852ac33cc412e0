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
    lastSignInAt: r.last_sign_in_at,
    createdAt: r.created_at,
  };
}

export interface AdminCredentials {
  id: string;
  tenant_id: string;
  password_hash: string | null;
  totp_secret_sealed: string | null;
  disabled_at: Date | null;
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
    .first('a.id', 'a.tenant_id', 'a.password_hash', 'a.totp_secret_sealed', 'a.disabled_at', 't.disabled_at as tenant_disabled_at');
}

export async function findCredentialsById(q: Queryable, tenantId: string, id: string): Promise<AdminCredentials | undefined> {
  if (!isUuid(id)) return undefined;
  return q('admins as a')
    .join('tenants as t', 't.id', 'a.tenant_id')
    .where({ 'a.tenant_id': tenantId, 'a.id': id })
    .first('a.id', 'a.tenant_id', 'a.password_hash', 'a.totp_secret_sealed', 'a.disabled_at', 't.disabled_at as tenant_disabled_at');
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
