/**
 * SQL for pending email/phone changes (SPEC §5.3): one open change per user, resource and kind;
 * a new code retires the older ones. Only HMACs of codes are stored. Scoped by tenant id.
 */
import type { Queryable } from '../db/knex';

export type ContactKind = 'email' | 'phone';

export interface PendingChange {
  id: string;
  newValue: string;
  expiresAt: Date;
  createdAt: Date;
}

interface Owner {
  tenantId: string;
  resourceId: string;
  userId: string;
  kind: ContactKind;
}

const ofOwner = (o: Owner) => ({ tenant_id: o.tenantId, resource_id: o.resourceId, user_id: o.userId, kind: o.kind });

/** How many codes went out for this owner in the last `seconds`. */
export async function codesSentWithin(q: Queryable, o: Owner, seconds: number): Promise<number> {
  const [{ count }] = await q('portal_contact_changes')
    .where(ofOwner(o))
    .andWhere('created_at', '>', q.raw('now() - make_interval(secs => ?)', [seconds]))
    .count<{ count: string }[]>('* as count');
  return Number(count);
}

/** Retires the owner's open changes (a new code replaces them, or the user cancelled). */
export async function retireOpen(q: Queryable, o: Owner): Promise<number> {
  return q('portal_contact_changes').where(ofOwner(o)).whereNull('used_at').andWhere('expires_at', '>', q.fn.now()).update({ expires_at: q.fn.now() });
}

export async function insertChange(q: Queryable, o: Owner, row: { id: string; newValue: string; codeHash: string; ttlSeconds: number }): Promise<void> {
  await q('portal_contact_changes').insert({
    id: row.id,
    ...ofOwner(o),
    new_value: row.newValue,
    code_hash: row.codeHash,
    expires_at: q.raw('now() + make_interval(secs => ?)', [row.ttlSeconds]),
  });
}

/** The newest open change that still has attempts left, for the page to show. */
export async function findOpen(q: Queryable, o: Owner, maxAttempts: number): Promise<PendingChange | undefined> {
  const row = await q('portal_contact_changes')
    .where(ofOwner(o))
    .whereNull('used_at')
    .andWhere('expires_at', '>', q.fn.now())
    .andWhere('attempts', '<', maxAttempts)
    .orderBy([{ column: 'created_at', order: 'desc' }, 'id'])
    .first('id', 'new_value', 'expires_at', 'created_at');
  return row ? { id: row.id, newValue: row.new_value, expiresAt: row.expires_at, createdAt: row.created_at } : undefined;
}

/**
 * Spends one attempt on the owner's newest open change in one atomic UPDATE, so concurrent
 * guesses cannot buy more than `maxAttempts`. Returns what to compare, or undefined when there is
 * no open change or its attempts are used up.
 */
export async function reserveAttempt(q: Queryable, o: Owner, maxAttempts: number): Promise<{ id: string; codeHash: string; newValue: string } | undefined> {
  const result = await q.raw(
    `UPDATE portal_contact_changes SET attempts = attempts + 1
     WHERE id = (
         SELECT id FROM portal_contact_changes
         WHERE tenant_id = ? AND resource_id = ? AND user_id = ? AND kind = ? AND used_at IS NULL AND expires_at > now()
         ORDER BY created_at DESC, id LIMIT 1)
       AND attempts < ? AND used_at IS NULL AND expires_at > now()
     RETURNING id, code_hash, new_value`,
    [o.tenantId, o.resourceId, o.userId, o.kind, maxAttempts],
  );
  const row = result.rows[0];
  return row ? { id: row.id, codeHash: row.code_hash, newValue: row.new_value } : undefined;
}

/** Marks a matched change used; of concurrent right guesses exactly one wins. */
export async function markUsed(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  return (await q('portal_contact_changes').where({ tenant_id: tenantId, id }).whereNull('used_at').update({ used_at: q.fn.now() })) === 1;
}
