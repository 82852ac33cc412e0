/**
 * Data for the validation benchmark: a fresh database, one tenant with an API key, a resource for
 * the success path and one for the failure path, and users each holding one HOTP token (a known
 * seed) assigned to both. Rows are inserted in bulk with knex; seeds are sealed with the
 * service's own secret box, so the server under test reads them like any other token.
 */
import { createHmac, createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Config } from '../src/config';
import { createServices } from '../src/services';
import { createLogger } from '../src/lib/logger';
import { sealSeed } from '../src/tokens/token-seed';

export interface BenchData {
  apiKey: string;
  tenantId: string;
  successResourceId: string;
  failureResourceId: string;
  logins: string[];
  seeds: Buffer[];
}

export { recreateDatabase } from '../src/db/database-admin';

/** The seed of user i: fixed, so a run can be replayed with oathtool. */
export function benchSeed(i: number): Buffer {
  return createHash('sha1').update(`mfa-bench-seed:${i}`).digest();
}

/** RFC 4226 HOTP (SHA-1, 6 digits), written here independently of src/otp. */
export function hotp(seed: Buffer, counter: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', seed).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

async function insertInBatches(db: import('knex').Knex, table: string, rows: Record<string, unknown>[], returning?: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < rows.length; i += 1000) {
    const batch = rows.slice(i, i + 1000);
    if (returning) out.push(...(await db(table).insert(batch).returning(returning)));
    else await db(table).insert(batch);
  }
  return out;
}

/**
 * `tokens` beyond `users` are the tenant's other tokens: hardware tokens in stock (no owner, no
 * resource), inserted by one statement. They make the tokens table and its indexes grow without
 * changing what a check of a bench user reads, which is what "validation stays flat as data grows"
 * asks. Their sealed seed is one shared value that no check ever opens.
 */
export async function seedBenchData(config: Config, users: number, tokens = users): Promise<BenchData> {
  const services = await createServices(config, { log: createLogger('warn'), migrate: false });
  try {
    const { db } = services;
    const { tenant, admin, apiKey } = await services.admins.createTenant({ organisation: 'Bench Corp', email: 'bench@example.test', password: 'bench run passphrase 2026' }, { withApiKey: true });
    const actor = { tenantId: tenant.id, type: 'admin' as const, id: admin.id, label: 'bench', role: 'owner' as const };
    const success = await services.resources.create(actor, { name: 'Bench VPN', failedAttemptsLimit: 10, lockMinutes: 1 });
    const failure = await services.resources.create(actor, { name: 'Bench wrong codes', failedAttemptsLimit: 10, lockMinutes: 1 });

    const logins = Array.from({ length: users }, (_, i) => `bench.user.${String(i).padStart(5, '0')}`);
    const seeds = logins.map((_, i) => benchSeed(i));
    const userRows = await insertInBatches(db, 'users', logins.map((login) => ({ tenant_id: tenant.id, login, email: `${login}@example.test` })), 'id');
    const userIds = userRows.map((r) => String(r.id));
    const tokenIds = userIds.map(() => randomUUID());
    const resources = [success.id, failure.id];
    await insertInBatches(db, 'resource_users', userIds.flatMap((userId) => resources.map((resourceId) => ({ tenant_id: tenant.id, resource_id: resourceId, user_id: userId }))));
    await insertInBatches(
      db,
      'tokens',
      tokenIds.map((id, i) => ({
        id,
        tenant_id: tenant.id,
        user_id: userIds[i],
        type: 'hotp',
        serial: `BENCH-${String(i).padStart(5, '0')}`,
        otp_kind: 'hotp',
        algorithm: 'SHA1',
        digits: 6,
        hotp_counter: 0,
        ...sealSeed(services.secrets, id, seeds[i]),
      })),
    );
    await insertInBatches(db, 'token_resources', tokenIds.flatMap((tokenId) => resources.map((resourceId) => ({ tenant_id: tenant.id, token_id: tokenId, resource_id: resourceId }))));
    if (tokens > users) {
      const stock = sealSeed(services.secrets, randomUUID(), randomBytes(20));
      await db.raw(
        `INSERT INTO tokens (tenant_id, type, serial, otp_kind, algorithm, digits, seed_sealed, seed_key_id)
         SELECT ?, 'hardware', 'STOCK-' || lpad(g::text, 7, '0'), 'hotp', 'SHA1', 6, ?, ? FROM generate_series(1, ?) g`,
        [tenant.id, stock.seed_sealed, stock.seed_key_id, tokens - users],
      );
    }
    await db.raw('VACUUM ANALYZE');
    return { apiKey: apiKey!, tenantId: tenant.id, successResourceId: success.id, failureResourceId: failure.id, logins, seeds };
  } finally {
    await services.close();
  }
}
