/**
 * SQL for email/SMS challenges (`token_challenges`). Every query is scoped by tenant id. Codes
 * are never here: only their HMAC (see challenge-codes.ts).
 */
import type { Queryable } from '../db/knex';

export interface ChallengeMember {
  id: string;
  email: string | null;
  phone: string | null;
  blocked: boolean;
  /** Locked in this resource now, or at the failure limit (the next check would be refused). */
  locked: boolean;
}

/**
 * The user with this login assigned to the resource, with their lock state read, not changed:
 * asking for a code is not an attempt, so it neither consumes nor resets the counter (SEC-07).
 * The condition is the negation of lockout.reserveAttempt's.
 */
export async function findChallengeMember(q: Queryable, tenantId: string, resourceId: string, login: string, limit: number): Promise<ChallengeMember | undefined> {
  const row = await q('users as u')
    .join('resource_users as ru', 'ru.user_id', 'u.id')
    .where({ 'u.tenant_id': tenantId, 'ru.resource_id': resourceId })
    .whereRaw('lower(u.login) = lower(?)', [login])
    .first(
      'u.id',
      'u.email',
      'u.phone',
      'u.blocked_at',
      q.raw('((ru.locked_until IS NOT NULL AND ru.locked_until > now()) OR (ru.locked_until IS NULL AND ru.fail_count >= ?)) AS locked', [limit]),
    );
  return row ? { id: row.id, email: row.email, phone: row.phone, blocked: Boolean(row.blocked_at), locked: Boolean(row.locked) } : undefined;
}

/** Serialises the sends of one user (row lock until commit), so the throttle and the cap hold under concurrency. */
export async function lockUserForSend(q: Queryable, tenantId: string, userId: string): Promise<void> {
  // NO KEY UPDATE: foreign-key checks of other transactions (KEY SHARE) are not blocked.
  await q.raw('SELECT 1 FROM users WHERE tenant_id = ? AND id = ? FOR NO KEY UPDATE', [tenantId, userId]);
}

/** True when a code for this token was created less than `seconds` ago (database clock). */
export async function sentWithin(q: Queryable, tenantId: string, tokenId: string, seconds: number): Promise<boolean> {
  const row = await q('token_challenges')
    .where({ tenant_id: tenantId, token_id: tokenId })
    .andWhere('created_at', '>', q.raw('now() - make_interval(secs => ?)', [seconds]))
    .first('id');
  return Boolean(row);
}

/** Codes created for any token of the user in the last `seconds` (the per-user cap). */
export async function countSentToUser(q: Queryable, tenantId: string, userId: string, seconds: number): Promise<number> {
  const [{ count }] = await q('token_challenges as c')
    .join('tokens as t', 't.id', 'c.token_id')
    .where({ 'c.tenant_id': tenantId, 't.user_id': userId })
    .andWhere('c.created_at', '>', q.raw('now() - make_interval(secs => ?)', [seconds]))
    .count<{ count: string }[]>('* as count');
  return Number(count);
}

/** A new code replaces the token's open ones, in every resource. */
export async function invalidateOpenChallenges(q: Queryable, tenantId: string, tokenId: string): Promise<void> {
  await q('token_challenges').where({ tenant_id: tenantId, token_id: tokenId }).whereNull('used_at').andWhere('expires_at', '>', q.fn.now()).update({ expires_at: q.fn.now() });
}

export async function insertChallenge(
  q: Queryable,
  row: { id: string; tenantId: string; tokenId: string; resourceId: string; codeHash: string; ttlSeconds: number },
): Promise<void> {
  await q('token_challenges').insert({
    id: row.id,
    tenant_id: row.tenantId,
    token_id: row.tokenId,
    resource_id: row.resourceId,
    code_hash: row.codeHash,
    expires_at: q.raw('now() + make_interval(secs => ?)', [row.ttlSeconds]),
  });
}

/**
 * Spends one attempt on the token's newest open challenge for this resource, in one atomic UPDATE
 * (like lockout.reserveAttempt): concurrent guesses cannot buy more than `maxAttempts`. Returns
 * the challenge to compare against, or undefined when there is none or its attempts are used up.
 * A challenge asked for in another resource never matches (SEC-10 binding).
 */
export async function reserveChallengeAttempt(q: Queryable, tenantId: string, tokenId: string, resourceId: string | null, maxAttempts: number): Promise<{ id: string; codeHash: string } | undefined> {
  const result = await q.raw(
    `UPDATE token_challenges SET attempts = attempts + 1
     WHERE id = (
         SELECT id FROM token_challenges
         WHERE tenant_id = ? AND token_id = ? AND resource_id IS NOT DISTINCT FROM ?::uuid AND used_at IS NULL AND expires_at > now()
         ORDER BY created_at DESC, id LIMIT 1)
       AND attempts < ? AND used_at IS NULL AND expires_at > now()
     RETURNING id, code_hash`,
    [tenantId, tokenId, resourceId, maxAttempts],
  );
  const row = result.rows[0];
  return row ? { id: row.id, codeHash: row.code_hash } : undefined;
}

/** Marks a matched challenge used (compare-and-set: of concurrent right codes exactly one wins) and the token used. */
export async function confirmChallenge(q: Queryable, tenantId: string, challengeId: string): Promise<boolean> {
  const result = await q.raw(
    `WITH used AS (
       UPDATE token_challenges SET used_at = now()
       WHERE tenant_id = ? AND id = ? AND used_at IS NULL AND expires_at > now()
       RETURNING token_id)
     UPDATE tokens SET last_used_at = now(), fail_count = 0 FROM used WHERE tokens.id = used.token_id
     RETURNING tokens.id`,
    [tenantId, challengeId],
  );
  return result.rowCount === 1;
}
