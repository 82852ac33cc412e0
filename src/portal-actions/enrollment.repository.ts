/**
 * SQL for portal enrolments in progress (`portal_enrollments`): a token the user started to
 * enroll, created disabled and assigned to the resource, not yet proven. Every query is scoped
 * by tenant id. Enabling a pending token and claiming the code that proved it is one statement,
 * so a code can neither enable a token twice nor be replayed at sign-in (SEC-05).
 */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import { toSecretRow } from '../tokens/token.repository';
import type { TokenSecretRow } from '../tokens/token.types';
import type { OathClaim } from '../validation/attempt.repository';

/** An enrolment not proven within this long is abandoned: its token is deleted at the next start. */
export const PENDING_MINUTES = 30;

/**
 * Locks the user's membership row of the resource until commit (like token assignment does), so
 * concurrent starts cannot both pass the max-tokens check. False when the user is not a member.
 */
export async function lockMembership(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<boolean> {
  const result = await q.raw('SELECT 1 FROM resource_users WHERE tenant_id = ? AND resource_id = ? AND user_id = ? FOR UPDATE', [tenantId, resourceId, userId]);
  return result.rows.length === 1;
}

/**
 * Deletes the tokens of abandoned enrolments in the resource: every pending one of this user
 * (one enrolment at a time per user and resource) and anyone's older than PENDING_MINUTES.
 */
export async function discardPending(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<number> {
  const stale = q('portal_enrollments')
    .where({ tenant_id: tenantId, resource_id: resourceId })
    .andWhere((w) => w.where('user_id', userId).orWhere('created_at', '<', q.raw(`now() - make_interval(mins => ?)`, [PENDING_MINUTES])))
    .select('token_id');
  return q('tokens').where('tenant_id', tenantId).andWhere('enabled', false).whereIn('id', stale).delete();
}

export async function insertPending(q: Queryable, row: { tenantId: string; resourceId: string; userId: string; tokenId: string; type: string }): Promise<void> {
  await q('portal_enrollments').insert({ tenant_id: row.tenantId, resource_id: row.resourceId, user_id: row.userId, token_id: row.tokenId, type: row.type });
}

/** The user's pending, unexpired enrolment of `type` in the resource with this token id, with what verification needs. */
export async function findPending(q: Queryable, tenantId: string, resourceId: string, userId: string, tokenId: string, type: string): Promise<TokenSecretRow | undefined> {
  if (!isUuid(tokenId)) return undefined;
  const row = await q('portal_enrollments as pe')
    .join('tokens as t', 't.id', 'pe.token_id')
    .where({ 'pe.tenant_id': tenantId, 'pe.resource_id': resourceId, 'pe.user_id': userId, 'pe.token_id': tokenId, 'pe.type': type, 't.user_id': userId, 't.enabled': false })
    .andWhere('pe.created_at', '>', q.raw(`now() - make_interval(mins => ?)`, [PENDING_MINUTES]))
    .first('t.*');
  return row ? toSecretRow(row) : undefined;
}

/**
 * Ends the enrolment: enables the pending token, records the proving OATH step or counter (so that
 * code is spent), resets its failures and drops the pending mark. False when it is no longer
 * pending or the code was claimed meanwhile (of concurrent confirmations exactly one wins).
 */
export async function enablePending(q: Queryable, tenantId: string, tokenId: string, claim: OathClaim | null): Promise<boolean> {
  const patch: Record<string, unknown> = { enabled: true, fail_count: 0, last_used_at: q.fn.now(), updated_at: q.fn.now() };
  const query = q('tokens')
    .where({ tenant_id: tenantId, id: tokenId, enabled: false })
    .whereExists(q('portal_enrollments').where({ tenant_id: tenantId, token_id: tokenId }).select(q.raw('1')));
  if (claim?.kind === 'totp') {
    Object.assign(patch, { totp_last_step: claim.step, drift: claim.drift });
    query.andWhere((w) => w.whereNull('totp_last_step').orWhere('totp_last_step', '<', claim.step));
  } else if (claim?.kind === 'hotp') {
    patch.hotp_counter = claim.counter + 1;
    query.andWhere('hotp_counter', '<=', claim.counter);
  }
  const updated = await query.update(patch);
  if (updated !== 1) return false;
  await q('portal_enrollments').where({ tenant_id: tenantId, token_id: tokenId }).delete();
  return true;
}

/** Counts a wrong confirmation code; returns the token's failures so far. */
export async function countFailure(q: Queryable, tenantId: string, tokenId: string): Promise<number> {
  const [row] = await q('tokens').where({ tenant_id: tenantId, id: tokenId, enabled: false }).increment('fail_count', 1).returning('fail_count');
  return row?.fail_count ?? 0;
}

/** Deletes a pending enrolment's token (cancelled); an enabled token is never touched. */
export async function deletePendingToken(q: Queryable, tenantId: string, tokenId: string): Promise<boolean> {
  const pending = q('portal_enrollments').where({ tenant_id: tenantId, token_id: tokenId }).select('token_id');
  return (await q('tokens').where({ tenant_id: tenantId, id: tokenId, enabled: false }).whereIn('id', pending).delete()) > 0;
}
