/**
 * Many users and tokens in one tenant by bulk SQL (INSERT ... SELECT generate_series), for the
 * lists bench and the query-plan test. Users are `user000000` upwards with an email and names;
 * each owns one token (`TOTP000000`…, every tenth `HOTP…`) assigned to the first resource. Every
 * user is a member of the first resource, every tenth of the second, every other of the third.
 */
import type { Knex } from 'knex';

export interface ListSeed {
  userIds: string[];
  resourceIds: string[];
}

export async function seedListData(db: Knex, tenantId: string, options: { users: number; resources?: number; chunk?: number }): Promise<ListSeed> {
  const chunk = options.chunk ?? 50_000;
  const resourceIds: string[] = [];
  const names = ['Corporate VPN', 'Wiki', 'Mail', 'CRM', 'Git'];
  for (let i = 0; i < (options.resources ?? 5); i++) {
    const [row] = await db('resources').insert({ tenant_id: tenantId, name: `${names[i % names.length]} ${i}` }).returning('id');
    resourceIds.push(row.id);
  }
  const userIds: string[] = [];
  for (let start = 0; start < options.users; start += chunk) {
    const end = Math.min(options.users, start + chunk) - 1;
    const { rows } = await db.raw(
      `INSERT INTO users (tenant_id, login, email, first_name, last_name, created_at)
       SELECT ?, 'user' || lpad(g::text, 6, '0'), 'user' || lpad(g::text, 6, '0') || '@example.test',
              (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances'])[1 + g % 7],
              (ARRAY['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen'])[1 + (g / 7) % 7],
              now() - make_interval(secs => (? - g) * 60)
         FROM generate_series(?::int, ?::int) g ORDER BY g RETURNING id`,
      [tenantId, options.users, start, end],
    );
    userIds.push(...rows.map((r: { id: string }) => r.id));
  }
  for (let start = 0; start < userIds.length; start += chunk) {
    const ids = userIds.slice(start, start + chunk);
    await db.raw(
      `WITH u AS (SELECT id, ? + ordinality - 1 AS g FROM unnest(?::uuid[]) WITH ORDINALITY id)
       INSERT INTO resource_users (tenant_id, resource_id, user_id)
       SELECT ?, r.resource_id, u.id FROM u
         CROSS JOIN LATERAL (VALUES (?::uuid, true), (?::uuid, u.g % 10 = 0), (?::uuid, u.g % 2 = 0)) AS r(resource_id, member)
        WHERE r.member`,
      [start, ids, tenantId, resourceIds[0], resourceIds[1 % resourceIds.length], resourceIds[2 % resourceIds.length]],
    );
    await db.raw(
      `WITH u AS (SELECT id, ? + ordinality - 1 AS g FROM unnest(?::uuid[]) WITH ORDINALITY id),
            t AS (
              INSERT INTO tokens (tenant_id, user_id, type, serial, name, otp_kind, algorithm, digits, period, created_at)
              SELECT ?, u.id, k.kind, upper(k.kind) || lpad(u.g::text, 6, '0'), 'Phone ' || u.g, k.kind, 'SHA1', 6,
                     CASE WHEN k.kind = 'totp' THEN 30 END, now() - make_interval(secs => (? - u.g) * 60)
                FROM u CROSS JOIN LATERAL (SELECT CASE WHEN u.g % 10 = 9 THEN 'hotp' ELSE 'totp' END AS kind) k
               ORDER BY u.g
              RETURNING id)
       INSERT INTO token_resources (tenant_id, token_id, resource_id) SELECT ?, t.id, ? FROM t`,
      [start, ids, tenantId, options.users, tenantId, resourceIds[0]],
    );
  }
  return { userIds, resourceIds };
}
