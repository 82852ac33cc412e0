/** SQL for user_environments. Every query is scoped by tenant, resource and user. */
import type { Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import { ENVIRONMENT_TTL_DAYS, type UserEnvironment } from './environment.types';

export interface Owner {
  tenantId: string;
  resourceId: string;
  userId: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toEnvironment(r: any): UserEnvironment {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    resourceId: r.resource_id,
    userId: r.user_id,
    deviceHash: r.device_hash,
    label: r.label,
    userAgentSummary: r.user_agent_summary,
    firstIp: r.first_ip,
    lastIp: r.last_ip,
    firstSeenAt: r.first_seen_at,
    lastSeenAt: r.last_seen_at,
    trustedAt: r.trusted_at,
  };
}

const scope = (o: Owner) => ({ tenant_id: o.tenantId, resource_id: o.resourceId, user_id: o.userId });
const fresh = (q: Queryable) => q.raw(`now() - make_interval(days => ?)`, [ENVIRONMENT_TTL_DAYS]);

/**
 * Notes a sign-in from the browser `deviceHash`: a new row, or the existing one's last seen time,
 * IP and browser. `created` tells the two apart (one statement, so concurrent sign-ins from the
 * same browser cannot both count as new). Also forgets this user's browsers unseen for 180 days.
 */
export async function recordSeen(q: Queryable, o: Owner, deviceHash: string, seen: { ip?: string; userAgentSummary: string }): Promise<{ environment: UserEnvironment; created: boolean }> {
  await q('user_environments').where(scope(o)).where('last_seen_at', '<', fresh(q)).delete();
  const { rows } = await q.raw(
    `INSERT INTO user_environments (tenant_id, resource_id, user_id, device_hash, user_agent_summary, first_ip, last_ip)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (resource_id, user_id, device_hash)
     DO UPDATE SET last_seen_at = now(), last_ip = EXCLUDED.last_ip, user_agent_summary = EXCLUDED.user_agent_summary
     RETURNING *, (xmax = 0) AS created`, // xmax is 0 only for a row this statement inserted
    [o.tenantId, o.resourceId, o.userId, deviceHash, seen.userAgentSummary, seen.ip ?? null, seen.ip ?? null],
  );
  return { environment: toEnvironment(rows[0]), created: rows[0].created === true };
}

/** The browser's row if the user trusted it and it was seen within the cookie's lifetime. */
export async function findTrusted(q: Queryable, o: Owner, deviceHash: string): Promise<UserEnvironment | undefined> {
  const row = await q('user_environments').where({ ...scope(o), device_hash: deviceHash }).whereNotNull('trusted_at').where('last_seen_at', '>=', fresh(q)).first();
  return row ? toEnvironment(row) : undefined;
}

export async function findByDevice(q: Queryable, o: Owner, deviceHash: string): Promise<UserEnvironment | undefined> {
  const row = await q('user_environments').where({ ...scope(o), device_hash: deviceHash }).first();
  return row ? toEnvironment(row) : undefined;
}

export async function listTrusted(q: Queryable, o: Owner): Promise<UserEnvironment[]> {
  const rows = await q('user_environments').where(scope(o)).whereNotNull('trusted_at').orderBy('last_seen_at', 'desc');
  return rows.map(toEnvironment);
}

/** Marks the browser trusted (creating its row if the sign-in did not, e.g. cookies cleared since). */
export async function markTrusted(q: Queryable, o: Owner, deviceHash: string, label: string, seen: { ip?: string; userAgentSummary: string }): Promise<UserEnvironment> {
  const { rows } = await q.raw(
    `INSERT INTO user_environments (tenant_id, resource_id, user_id, device_hash, user_agent_summary, first_ip, last_ip, label, trusted_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())
     ON CONFLICT (resource_id, user_id, device_hash)
     DO UPDATE SET label = EXCLUDED.label, trusted_at = now(), last_seen_at = now(), last_ip = EXCLUDED.last_ip
     RETURNING *`,
    [o.tenantId, o.resourceId, o.userId, deviceHash, seen.userAgentSummary, seen.ip ?? null, seen.ip ?? null, label],
  );
  return toEnvironment(rows[0]);
}

/** Renames one of the user's trusted browsers; undefined when it is not theirs (or not trusted). */
export async function renameTrusted(q: Queryable, o: Owner, id: string, label: string): Promise<UserEnvironment | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await q('user_environments').where({ ...scope(o), id }).whereNotNull('trusted_at').update({ label }).returning('*');
  return row ? toEnvironment(row) : undefined;
}

/** Forgets one of the user's trusted browsers; its next sign-in counts as a new browser. */
export async function removeTrusted(q: Queryable, o: Owner, id: string): Promise<UserEnvironment | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await q('user_environments').where({ ...scope(o), id }).whereNotNull('trusted_at').delete().returning('*');
  return row ? toEnvironment(row) : undefined;
}

export async function findTrustedById(q: Queryable, o: Owner, id: string): Promise<UserEnvironment | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await q('user_environments').where({ ...scope(o), id }).whereNotNull('trusted_at').first();
  return row ? toEnvironment(row) : undefined;
}
