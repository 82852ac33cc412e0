/**
 * API keys: shown once at creation, stored as SHA-256 (keys are 256-bit random, so a fast hash is
 * safe and lets a lookup by hash stay constant-time with respect to the key's content).
 */
import { z } from 'zod';
import type { Db, Queryable } from '../db/knex';
import { isUuid } from '../db/errors';
import { randomToken, sha256 } from '../lib/crypto';
import { NotFoundError } from '../lib/errors';
import { parseInput } from '../lib/validation';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import { requireOwner } from '../admins/permissions';

export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toApiKey(r: any): ApiKey {
  return { id: r.id, tenantId: r.tenant_id, name: r.name, prefix: r.prefix, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at };
}

const nameSchema = z.object({ name: z.string({ error: 'Enter a name.' }).trim().min(1, 'Enter a name, such as "VPN gateway".').max(100, 'Use at most 100 characters.') });

/** Inserts a key and returns its one-time plain value. Used by the service and by tenant bootstrap. */
export async function insertApiKey(q: Queryable, tenantId: string, name: string, adminId: string | null): Promise<{ key: ApiKey; plain: string }> {
  const prefix = randomToken(6).replace(/[-_]/g, 'x').slice(0, 8);
  const plain = `mfa_${prefix}_${randomToken(32)}`;
  const [row] = await q('api_keys').insert({ tenant_id: tenantId, name, prefix, key_hash: sha256(plain), created_by_admin_id: adminId }).returning('*');
  return { key: toApiKey(row), plain };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

/**
 * How long a process trusts a key it has resolved before asking the database again, so the
 * validation API's hot path costs no query for the key. A revoke made through this process
 * evicts the key at once; a revoke or a disabled tenant elsewhere (another web process) takes
 * effect here within this time. Only valid keys are remembered: a new key works at once.
 */
export const API_KEY_CACHE_MS = 2_000;
const API_KEY_CACHE_MAX = 10_000;

export interface ResolvedApiKey {
  keyId: string;
  tenantId: string;
  name: string;
}

export function createApiKeyService(db: Db, options: { cacheMs?: number } = {}) {
  const cacheMs = options.cacheMs ?? API_KEY_CACHE_MS;
  const cache = new Map<string, { key: ResolvedApiKey; until: number }>();

  return {
    async create(actor: Actor, input: unknown): Promise<{ key: ApiKey; plain: string }> {
      requireOwner(actor);
      const { name } = parseInput(nameSchema, input);
      return db.transaction(async (trx) => {
        const created = await insertApiKey(trx, actor.tenantId, name, actor.type === 'admin' ? actor.id ?? null : null);
        await recordAudit(trx, actor, { action: 'api_key.create', targetType: 'api_key', targetId: created.key.id, details: { name, prefix: created.key.prefix } });
        return created;
      });
    },

    async list(tenantId: string): Promise<ApiKey[]> {
      const rows = await db('api_keys').where({ tenant_id: tenantId }).orderBy('created_at', 'desc');
      return rows.map(toApiKey);
    },

    /** One key of the tenant (for the revoke confirmation); another tenant's id is "not found". */
    async get(tenantId: string, id: string): Promise<ApiKey> {
      const row = isUuid(id) ? await db('api_keys').where({ tenant_id: tenantId, id }).first() : undefined;
      if (!row) throw new NotFoundError('API key');
      return toApiKey(row);
    },

    async revoke(actor: Actor, id: string): Promise<void> {
      requireOwner(actor);
      if (!isUuid(id)) throw new NotFoundError('API key');
      await db.transaction(async (trx) => {
        const updated = await trx('api_keys').where({ tenant_id: actor.tenantId, id }).whereNull('revoked_at').update({ revoked_at: trx.fn.now() });
        if (updated !== 1) throw new NotFoundError('API key');
        await recordAudit(trx, actor, { action: 'api_key.revoke', targetType: 'api_key', targetId: id });
      });
      for (const [hash, entry] of cache) if (entry.key.keyId === id) cache.delete(hash);
    },

    /** Resolves a presented key to its tenant, or undefined. Revoked keys and disabled tenants resolve to nothing. */
    async authenticate(plain: string): Promise<ResolvedApiKey | undefined> {
      if (!/^mfa_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$/.test(plain)) return undefined;
      const hash = sha256(plain);
      const hit = cache.get(hash);
      if (hit && hit.until > Date.now()) return hit.key;
      const row = await db('api_keys as k')
        .join('tenants as t', 't.id', 'k.tenant_id')
        .where({ 'k.key_hash': hash })
        .whereNull('k.revoked_at')
        .whereNull('t.disabled_at')
        .first('k.id', 'k.tenant_id', 'k.name', 'k.last_used_at');
      if (!row) {
        cache.delete(hash);
        return undefined;
      }
      // Touch at most once a minute, off the request path: a lost touch costs nothing.
      if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
        db('api_keys').where({ id: row.id }).update({ last_used_at: db.fn.now() }).catch(() => undefined);
      }
      const key: ResolvedApiKey = Object.freeze({ keyId: row.id, tenantId: row.tenant_id, name: row.name });
      if (cacheMs > 0) {
        if (cache.size >= API_KEY_CACHE_MAX) cache.clear();
        cache.set(hash, { key, until: Date.now() + cacheMs });
      }
      return key;
    },
  };
}
