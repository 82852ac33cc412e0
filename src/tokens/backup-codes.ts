/**
 * Backup codes (SEC-13): 10 single-use codes of 80 bits each, shown once, stored as SHA-256
 * (a fast hash is safe for 80-bit random values; a lookup by hash compares nothing in JS).
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/knex';
import { sha256 } from '../lib/crypto';
import { base32Encode } from '../otp/otp-engine';

export const BACKUP_CODE_COUNT = 10;

/** Normalises what a person types: case, spaces and dashes do not matter. */
export function normaliseBackupCode(input: string): string {
  return input.replace(/[\s-]/g, '').toUpperCase();
}

/** A code like `ABCD-EFGH-JKLM-NPQR` (16 base32 characters = 80 bits). */
function newCode(): string {
  return base32Encode(randomBytes(10)).match(/.{4}/g)!.join('-');
}

/** Replaces the token's codes with a fresh set and returns the plain codes (shown once). */
export async function issueBackupCodes(q: Queryable, tenantId: string, tokenId: string): Promise<string[]> {
  const codes = Array.from({ length: BACKUP_CODE_COUNT }, newCode);
  await q('token_backup_codes').where({ tenant_id: tenantId, token_id: tokenId }).delete();
  await q('token_backup_codes').insert(codes.map((code) => ({ tenant_id: tenantId, token_id: tokenId, code_hash: sha256(normaliseBackupCode(code)) })));
  return codes;
}

/** Consumes a code atomically: concurrent uses of one code give exactly one success. */
export async function consumeBackupCode(q: Queryable, tenantId: string, tokenId: string, input: string): Promise<boolean> {
  const normalised = normaliseBackupCode(input);
  if (!/^[A-Z2-7]{16}$/.test(normalised)) return false;
  const rows = await q('token_backup_codes')
    .where({ tenant_id: tenantId, token_id: tokenId, code_hash: sha256(normalised) })
    .whereNull('used_at')
    .update({ used_at: q.fn.now() })
    .returning('id');
  return rows.length === 1;
}

export async function countUnusedBackupCodes(q: Queryable, tenantId: string, tokenId: string): Promise<number> {
  const [{ count }] = await q('token_backup_codes').where({ tenant_id: tenantId, token_id: tokenId }).whereNull('used_at').count<{ count: string }[]>('* as count');
  return Number(count);
}
