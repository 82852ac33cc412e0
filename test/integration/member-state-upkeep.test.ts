/**
 * Issue 14: each member's enrolment state is kept on resource_users by the database (migration
 * 20261206000120). After every kind of write the state depends on (through the services and by
 * plain SQL) the stored state equals the definition computed live, and two transactions racing
 * on one member cannot leave it stale.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser, type TestTenant } from '../helpers/factories';
import { invite } from '../helpers/enrollment-states';
import { activeTokenSql } from '../../src/invitations/enrollment-status.repository';

/**
 * Members of the tenant whose stored state differs from the definition computed from the source
 * tables (active tokens as activeTokenSql says, the live invitation): empty when upkeep is right.
 */
async function staleMembers(db: Knex, tenantId: string): Promise<unknown[]> {
  const { rows } = await db.raw(
    `SELECT ru.user_id, ru.resource_id, ru.enrolled_at, live.enrolled_at AS live_enrolled_at, ru.invitation_expires_at, inv.expires_at AS live_invitation_expires_at
       FROM resource_users ru
       CROSS JOIN LATERAL (
         SELECT CASE WHEN min(tr.created_at) IS NOT NULL THEN greatest(ru.created_at, min(tr.created_at)) END AS enrolled_at
           FROM tokens t JOIN token_resources tr ON tr.token_id = t.id AND tr.tenant_id = t.tenant_id AND tr.resource_id = ru.resource_id
          WHERE t.tenant_id = ru.tenant_id AND t.user_id = ru.user_id AND ${activeTokenSql('t')}) live
       LEFT JOIN enrollment_invitations inv ON inv.tenant_id = ru.tenant_id AND inv.resource_id = ru.resource_id AND inv.user_id = ru.user_id AND inv.cancelled_at IS NULL
      WHERE ru.tenant_id = ?
        AND (ru.enrolled_at IS DISTINCT FROM live.enrolled_at OR ru.invitation_expires_at IS DISTINCT FROM inv.expires_at)`,
    [tenantId],
  );
  return rows;
}

async function enrolledAt(db: Knex, resourceId: string, userId: string): Promise<Date | null> {
  const row = await db('resource_users').where({ resource_id: resourceId, user_id: userId }).first('enrolled_at');
  return row.enrolled_at;
}

describe('member enrolment state kept by the database (issue 14)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('follows every write it depends on, through the services and by plain SQL', async () => {
    const s = ctx.services;
    const db = s.db;
    const tenant = await createTenant(s);
    const [vpn, mail] = [await createResource(s, tenant), await createResource(s, tenant)];
    const [ann, bob] = [await createUser(s, tenant), await createUser(s, tenant)];
    const steps: Array<[string, () => Promise<unknown>]> = [];
    const step = (name: string, run: () => Promise<unknown>) => steps.push([name, run]);
    let token = '';
    let second = '';

    step('members added', async () => {
      await s.users.assign(tenant.actor, vpn.id, ann.id);
      await s.users.assign(tenant.actor, mail.id, ann.id);
      await s.users.assign(tenant.actor, vpn.id, bob.id);
    });
    step('a token created (no resource yet)', async () => { token = (await s.tokens.create(tenant.actor, { type: 'totp', userId: ann.id })).token.id; });
    step('assigned to a resource', () => s.tokens.assignToResource(tenant.actor, vpn.id, token));
    step('disabled', () => s.tokens.setEnabled(tenant.actor, token, false));
    step('enabled', () => s.tokens.setEnabled(tenant.actor, token, true));
    step('a second token, assigned to the other resource', async () => {
      second = (await s.tokens.create(tenant.actor, { type: 'hotp', userId: ann.id })).token.id;
      await s.tokens.assignToResource(tenant.actor, mail.id, second);
    });
    step('the first unassigned', () => s.tokens.unassignFromResource(tenant.actor, vpn.id, token));
    step('the second assigned to the first resource too', () => s.tokens.assignToResource(tenant.actor, vpn.id, second));
    step('the second given to another owner (leaves its resources)', () => s.tokens.update(tenant.actor, second, { userId: bob.id }));
    step('reassigned to a resource for the new owner', () => s.tokens.assignToResource(tenant.actor, vpn.id, second));
    step('owner changed by plain SQL, assignments kept', () => db('tokens').where({ id: second }).update({ user_id: ann.id }));
    step('a pending portal enrolment', () => db('portal_enrollments').insert({ token_id: second, tenant_id: tenant.tenantId, resource_id: vpn.id, user_id: ann.id, type: 'hotp' }));
    step('the enrolment confirmed', () => db('portal_enrollments').where({ token_id: second }).delete());
    step('the token deleted', () => s.tokens.remove(tenant.actor, second));
    step('invited', () => invite(s, tenant, vpn.id, bob.id, 30));
    step('invitation renewed', () => db('enrollment_invitations').where({ resource_id: vpn.id, user_id: bob.id }).update({ expires_at: new Date(Date.now() + 60 * 86_400_000) }));
    step('invitation cancelled', () => db('enrollment_invitations').where({ resource_id: vpn.id, user_id: bob.id }).update({ cancelled_at: new Date() }));
    step('invitation deleted', () => db('enrollment_invitations').where({ resource_id: vpn.id, user_id: bob.id }).delete());
    step('member removed and added again, with an invitation left behind', async () => {
      await invite(s, tenant, mail.id, ann.id, 10);
      await s.users.unassign(tenant.actor, mail.id, ann.id);
      await s.users.assign(tenant.actor, mail.id, ann.id);
    });
    step('assignment and membership dates rewritten by SQL', async () => {
      await db('token_resources').where({ token_id: token }).update({ created_at: new Date('2026-01-02T00:00:00Z') });
      await db('resource_users').where({ resource_id: vpn.id }).update({ created_at: new Date('2026-01-01T00:00:00Z') });
    });
    step('bulk SQL: a hundred members with tokens in one statement each', () => db.raw(
      `WITH u AS (INSERT INTO users (tenant_id, login) SELECT ?, 'bulk-upkeep-' || g || '-' || ? FROM generate_series(1, 100) g RETURNING id),
            ru AS (INSERT INTO resource_users (tenant_id, resource_id, user_id) SELECT ?, ?, id FROM u RETURNING user_id),
            t AS (INSERT INTO tokens (tenant_id, user_id, type, serial, enabled) SELECT ?, id, 'email', 'UPKEEP-' || id, true FROM u RETURNING id)
       INSERT INTO token_resources (tenant_id, token_id, resource_id) SELECT ?, id, ? FROM t`,
      [tenant.tenantId, tenant.tenantId, tenant.tenantId, mail.id, tenant.tenantId, tenant.tenantId, mail.id],
    ));
    step('bulk SQL: every token of the tenant disabled', () => db('tokens').where({ tenant_id: tenant.tenantId }).update({ enabled: false }));
    step('a user deleted', () => s.users.remove(tenant.actor, bob.id));

    for (const [name, run] of steps) {
      await run();
      assert.deepEqual(await staleMembers(db, tenant.tenantId), [], `after: ${name}`);
    }
    assert.equal(await db('resource_users').where({ tenant_id: tenant.tenantId }).whereNotNull('enrolled_at').count<{ count: string }[]>('* as count').then(([r]) => Number(r.count)), 0, 'every token disabled: nobody enrolled');
  });

  it('leaves no stale state when two transactions change one member at the same time', async () => {
    const s = ctx.services;
    const db = s.db;
    const tenant: TestTenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    const user = await createUser(s, tenant);
    await s.users.assign(tenant.actor, resource.id, user.id);
    const old = (await s.tokens.create(tenant.actor, { type: 'totp', userId: user.id })).token.id;
    await s.tokens.assignToResource(tenant.actor, resource.id, old);
    const fresh = (await s.tokens.create(tenant.actor, { type: 'totp', userId: user.id })).token.id;

    // A assigns a new token and holds its transaction open; B disables the old token meanwhile.
    // Counting on its own snapshot, B would see neither token active (A's is not committed) and
    // write "not enrolled" last. It waits for A's lock on the member instead, then counts both.
    const a = await db.transaction();
    await a('token_resources').insert({ tenant_id: tenant.tenantId, token_id: fresh, resource_id: resource.id });
    const b = db.transaction(async (trx) => trx('tokens').where({ id: old }).update({ enabled: false }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await a.commit();
    await b;
    assert.notEqual(await enrolledAt(db, resource.id, user.id), null, 'the new token keeps the member enrolled');
    assert.deepEqual(await staleMembers(db, tenant.tenantId), []);
  });
});
