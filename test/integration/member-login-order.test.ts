/**
 * Issue 14: a resource's members are paged in login order from resource_users.login_key, which
 * the database keeps (migration 20261206000100): set on every insert, bulk SQL included, and
 * rewritten when a user's login changes. The pages must follow both.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser } from '../helpers/factories';
import * as repo from '../../src/invitations/enrollment-status.repository';

describe("a resource's members in login order, kept by the database (issue 14)", () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const PAGE = { page: 1, perPage: 100 };

  it('follows a rename through the service (the member page order and the keyset export)', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    const other = await createResource(s, tenant);
    const logins = ['bravo', 'Charlie', 'delta'];
    const users = [];
    for (const login of logins) {
      const user = await createUser(s, tenant, { login });
      await s.users.assign(tenant.actor, resource.id, user.id);
      await s.users.assign(tenant.actor, other.id, user.id);
      users.push(user);
    }
    const order = async (id: string) => (await s.users.usersOfResource(tenant.actor, id, PAGE)).items.map((u) => u.login);
    assert.deepEqual(await order(resource.id), ['bravo', 'Charlie', 'delta']);

    await s.users.update(tenant.actor, users[2].id, { login: 'Alpha' });
    assert.deepEqual(await order(resource.id), ['Alpha', 'bravo', 'Charlie']);
    assert.deepEqual(await order(other.id), ['Alpha', 'bravo', 'Charlie'], 'every membership of the user follows');
    assert.deepEqual((await repo.listMembers(s.db, tenant.tenantId, resource.id, undefined, PAGE)).items.map((m) => m.login), ['Alpha', 'bravo', 'Charlie']);
    const batch = await repo.membersAfter(s.db, tenant.tenantId, resource.id, undefined, { login: 'Alpha', userId: users[2].id }, 10);
    assert.deepEqual(batch.items.map((m) => m.login), ['bravo', 'Charlie']);

    // A change of case only keeps the key; the stored key is the lower-case login.
    await s.users.update(tenant.actor, users[0].id, { login: 'BRAVO' });
    const keys = await s.db('resource_users').where({ tenant_id: tenant.tenantId, resource_id: resource.id }).orderBy('login_key').pluck('login_key');
    assert.deepEqual(keys, ['alpha', 'bravo', 'charlie']);
  });

  it('sets the key on bulk SQL inserts and on a rename by plain SQL', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    await s.db.raw(
      `WITH u AS (INSERT INTO users (tenant_id, login) SELECT ?, 'Bulk-' || lpad(g::text, 3, '0') FROM generate_series(1, 60) g RETURNING id)
       INSERT INTO resource_users (tenant_id, resource_id, user_id) SELECT ?, ?, id FROM u`,
      [tenant.tenantId, tenant.tenantId, resource.id],
    );
    const page2 = await s.users.usersOfResource(tenant.actor, resource.id, { page: 2, perPage: 25 });
    assert.equal(page2.total, 60);
    assert.deepEqual(page2.items.map((u) => u.login), Array.from({ length: 25 }, (_, i) => `Bulk-${String(i + 26).padStart(3, '0')}`));

    await s.db('users').where({ tenant_id: tenant.tenantId, login: 'Bulk-060' }).update({ login: 'AAA-first' });
    const page1 = await s.users.usersOfResource(tenant.actor, resource.id, { page: 1, perPage: 2 });
    assert.deepEqual(page1.items.map((u) => u.login), ['AAA-first', 'Bulk-001']);
    const missing = await s.db('resource_users').where({ tenant_id: tenant.tenantId }).whereNull('login_key').count<{ count: string }[]>('* as count');
    assert.equal(Number(missing[0].count), 0);
  });

  it('pages a status filter in login order with the exact total', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    for (let i = 0; i < 6; i++) {
      const user = await createUser(s, tenant, { login: `m-${i}` });
      await s.users.assign(tenant.actor, resource.id, user.id);
      if (i % 2 === 0) {
        const { token } = await s.tokens.create(tenant.actor, { type: 'totp', userId: user.id });
        await s.tokens.assignToResource(tenant.actor, resource.id, token.id);
      }
    }
    const enrolled = await s.users.usersOfResource(tenant.actor, resource.id, { page: 2, perPage: 2 }, 'enrolled');
    assert.equal(enrolled.total, 3);
    assert.deepEqual(enrolled.items.map((u) => u.login), ['m-4']);
    const notInvited = await s.users.usersOfResource(tenant.actor, resource.id, { page: 1, perPage: 10 }, 'not_invited');
    assert.deepEqual(notInvited.items.map((u) => u.login), ['m-1', 'm-3', 'm-5']);
    assert.equal(notInvited.total, 3);
    // Past the last page: no rows, the total all the same.
    const beyond = await s.users.usersOfResource(tenant.actor, resource.id, { page: 5, perPage: 2 }, 'enrolled');
    assert.deepEqual([beyond.items.length, beyond.total], [0, 3]);
    const empty = await s.users.usersOfResource(tenant.actor, resource.id, { page: 1, perPage: 2 }, 'invited');
    assert.deepEqual([empty.items.length, empty.total], [0, 0]);
  });
});
