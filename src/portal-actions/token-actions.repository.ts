/**
 * SQL for the portal's token actions (SPEC §5.3). Every query is scoped by tenant id, and the
 * user's tokens are always matched by owner too, so a portal user can reach nothing else.
 */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import { toSecretRow, toToken } from '../tokens/token.repository';
import type { Token, TokenSecretRow } from '../tokens/token.types';

export interface OwnToken extends TokenSecretRow {
  pendingSeedSealed: string | null;
  pendingSeedAt: Date | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toOwnToken(r: any): OwnToken {
  return { ...toSecretRow(r), pendingSeedSealed: r.pending_seed_sealed, pendingSeedAt: r.pending_seed_at };
}

/** The user's token `tokenId` if it is assigned to the resource, with its secrets. */
export async function findOwnTokenInResource(q: Queryable, tenantId: string, resourceId: string, userId: string, tokenId: string): Promise<OwnToken | undefined> {
  if (!isUuid(tokenId)) return undefined;
  const row = await q('tokens as t')
    .join('token_resources as tr', 'tr.token_id', 't.id')
    .where({ 't.tenant_id': tenantId, 'tr.tenant_id': tenantId, 'tr.resource_id': resourceId, 't.user_id': userId, 't.id': tokenId })
    .first('t.*');
  return row ? toOwnToken(row) : undefined;
}

/**
 * The user's tokens they may bring into this resource: owned, enabled, not here yet, and either
 * assigned to another resource of the tenant that the user is assigned to, or removed from this
 * resource by the user in its portal (token_releases: the unassign page says it stays theirs).
 * A token in no resource that the user never had here stays out of reach.
 */
export async function listAssignableOwnTokens(q: Queryable, tenantId: string, resourceId: string, userId: string, tokenId?: string): Promise<Array<Token & { resources: string[] }>> {
  if (tokenId !== undefined && !isUuid(tokenId)) return [];
  const query = q('tokens as t')
    .where({ 't.tenant_id': tenantId, 't.user_id': userId, 't.enabled': true })
    .whereNotExists((s) => s.select(q.raw('1')).from('token_resources as here').whereRaw('here.token_id = t.id').andWhere('here.resource_id', resourceId))
    .where((w) =>
      w
        .whereExists((s) =>
          s.select(q.raw('1'))
            .from('token_resources as tr')
            .join('resource_users as ru', (j) => j.on('ru.resource_id', 'tr.resource_id').andOn('ru.tenant_id', 'tr.tenant_id'))
            .whereRaw('tr.token_id = t.id')
            .andWhere('tr.tenant_id', tenantId)
            .andWhere('ru.user_id', userId),
        )
        .orWhereExists((s) =>
          s.select(q.raw('1'))
            .from('token_releases as rel')
            .whereRaw('rel.token_id = t.id')
            .andWhere({ 'rel.tenant_id': tenantId, 'rel.resource_id': resourceId, 'rel.user_id': userId }),
        ),
    )
    .orderBy('t.created_at')
    .select('t.*', q.raw(`ARRAY(SELECT r.name FROM token_resources x JOIN resources r ON r.id = x.resource_id WHERE x.token_id = t.id AND x.tenant_id = t.tenant_id ORDER BY lower(r.name)) AS resource_names`));
  if (tokenId) query.andWhere('t.id', tokenId);
  const rows = await query;
  return rows.map((r) => ({ ...toToken(r), resources: r.resource_names as string[] }));
}

/**
 * Locks the user's membership row of the resource for the transaction, so concurrent changes of
 * the user's tokens there (count checks) run one after the other. False when not a member.
 */
export async function lockMembership(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<boolean> {
  const result = await q.raw('SELECT 1 FROM resource_users WHERE tenant_id = ? AND resource_id = ? AND user_id = ? FOR UPDATE', [tenantId, resourceId, userId]);
  return result.rows.length === 1;
}

/** Whether the user is locked in the resource right now (SPEC §3 Lockout; same rule as lockout.repository). */
export async function isLockedIn(q: Queryable, tenantId: string, resourceId: string, userId: string, limit: number): Promise<boolean> {
  const row = await q('resource_users').where({ tenant_id: tenantId, resource_id: resourceId, user_id: userId }).first('fail_count', 'locked_until');
  if (!row) return true;
  if (row.locked_until) return new Date(row.locked_until).getTime() > Date.now();
  return row.fail_count >= limit;
}

/** The user's enabled tokens in the resource other than `tokenId`. */
export async function countOtherEnabledTokens(q: Queryable, tenantId: string, resourceId: string, userId: string, tokenId: string): Promise<number> {
  const [{ count }] = await q('tokens as t')
    .join('token_resources as tr', 'tr.token_id', 't.id')
    .where({ 't.tenant_id': tenantId, 'tr.resource_id': resourceId, 't.user_id': userId, 't.enabled': true })
    .whereNot('t.id', tokenId)
    .count<{ count: string }[]>('* as count');
  return Number(count);
}

/** An enabled hardware token of the tenant's stock (no owner) by serial, with its secrets. */
export async function findStockHardwareBySerial(q: Queryable, tenantId: string, serial: string): Promise<TokenSecretRow | undefined> {
  const row = await q('tokens').where({ tenant_id: tenantId, type: 'hardware', enabled: true }).whereNull('user_id').whereRaw('lower(serial) = lower(?)', [serial]).first();
  return row ? toSecretRow(row) : undefined;
}

/** Gives a stock token its owner: only while it still has none (of concurrent claims one wins). */
export async function takeFromStock(q: Queryable, tenantId: string, tokenId: string, userId: string): Promise<boolean> {
  const updated = await q('tokens').where({ tenant_id: tenantId, id: tokenId, type: 'hardware' }).whereNull('user_id').update({ user_id: userId, updated_at: q.fn.now() });
  return updated === 1;
}

export async function setPendingSeed(q: Queryable, tenantId: string, tokenId: string, sealed: string): Promise<void> {
  await q('tokens').where({ tenant_id: tenantId, id: tokenId }).update({ pending_seed_sealed: sealed, pending_seed_at: q.fn.now(), updated_at: q.fn.now() });
}

/**
 * Replaces the seed with the pending one, only while that pending seed is still the one that was
 * proven (compare-and-set: of concurrent confirmations one wins), and records the proven step or
 * counter so the confirming code cannot be replayed.
 */
export async function promotePendingSeed(
  q: Queryable,
  tenantId: string,
  tokenId: string,
  expectedPending: string,
  next: { seed_sealed: string; seed_key_id: string; hotp_counter: number; totp_last_step: number | null; drift: number },
): Promise<boolean> {
  const updated = await q('tokens')
    .where({ tenant_id: tenantId, id: tokenId, enabled: true, pending_seed_sealed: expectedPending })
    .update({ ...next, pending_seed_sealed: null, pending_seed_at: null, fail_count: 0, last_used_at: q.fn.now(), updated_at: q.fn.now() });
  return updated === 1;
}

/** Ids of the user's tokens whose pending reissued seed is younger than `maxAgeMs`. */
export async function listPendingReissues(q: Queryable, tenantId: string, userId: string, maxAgeMs: number): Promise<string[]> {
  const rows = await q('tokens')
    .where({ tenant_id: tenantId, user_id: userId })
    .whereNotNull('pending_seed_sealed')
    .andWhere('pending_seed_at', '>', q.raw(`now() - make_interval(secs => ?)`, [maxAgeMs / 1000]))
    .select('id');
  return rows.map((r) => r.id as string);
}

/** Notes that the user removed their token from the resource in its portal (Assign Existing offers it back). */
export async function recordRelease(q: Queryable, tenantId: string, tokenId: string, resourceId: string, userId: string): Promise<void> {
  await q.raw(
    `INSERT INTO token_releases (tenant_id, token_id, resource_id, user_id) VALUES (?, ?, ?, ?)
     ON CONFLICT (token_id, resource_id) DO UPDATE SET user_id = EXCLUDED.user_id, released_at = now()`,
    [tenantId, tokenId, resourceId, userId],
  );
}

/** The token is back in the resource: its release is spent. */
export async function clearRelease(q: Queryable, tenantId: string, tokenId: string, resourceId: string): Promise<void> {
  await q('token_releases').where({ tenant_id: tenantId, token_id: tokenId, resource_id: resourceId }).delete();
}
