/**
 * Issue 12 §4: the one definition of enrolment states (enrollment-status.repository), its counts,
 * filtered list and chart data on real PostgreSQL, and the counts' plan on 5 000 members.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser } from '../helpers/factories';
import { invite, memberIn } from '../helpers/enrollment-states';
import * as repo from '../../src/invitations/enrollment-status.repository';
import { chartWindowStart, cumulativeByDay } from '../../src/invitations/enrollment-progress.service';

describe('enrolment status (issue 12 §4)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('counts each state as defined: enrolled = an active token in this resource; invited = live invitation; the rest not invited', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    const states = ['enrolled', 'enrolled', 'enrolled_and_invited', 'invited', 'invited', 'invitation_expired', 'cancelled', 'not_invited', 'disabled_token', 'pending_enrolment', 'token_elsewhere'] as const;
    const users = new Map<string, string>();
    for (const state of states) users.set((await memberIn(s, tenant, resource.id, state)).id, state);
    // Not a member: an invitation row and a token do not make them count.
    const outsider = await createUser(s, tenant);
    await invite(s, tenant, resource.id, outsider.id, 30);

    const counts = await repo.countEnrollment(s.db, tenant.tenantId, resource.id);
    assert.deepEqual(counts, { assigned: 11, enrolled: 3, invited: 2, notInvited: 6 });

    const expected: Record<string, repo.EnrollmentStatus> = {
      enrolled: 'enrolled', enrolled_and_invited: 'enrolled', invited: 'invited', invitation_expired: 'invitation_expired',
      cancelled: 'not_invited', not_invited: 'not_invited', disabled_token: 'not_invited', pending_enrolment: 'not_invited', token_elsewhere: 'not_invited',
    };
    const all = await repo.listMembers(s.db, tenant.tenantId, resource.id, undefined, { page: 1, perPage: 100 });
    assert.equal(all.total, 11);
    for (const m of all.items) assert.equal(m.status, expected[users.get(m.userId)!], `state ${users.get(m.userId)}`);
    for (const status of repo.ENROLLMENT_STATUSES) {
      const page = await repo.listMembers(s.db, tenant.tenantId, resource.id, status, { page: 1, perPage: 100 });
      assert.equal(page.total, all.items.filter((m) => m.status === status).length, status);
      assert.ok(page.items.every((m) => m.status === status));
    }
    const enrolled = all.items.filter((m) => m.status === 'enrolled');
    assert.ok(enrolled.every((m) => m.enrolledTokens === 1));
    // Last sign-in we know of: the last good code of an active token in the resource.
    const usedAt = new Date('2026-12-01T08:00:00Z');
    await s.db('tokens').where({ tenant_id: tenant.tenantId, user_id: enrolled[0].userId }).update({ last_used_at: usedAt });
    const again = await repo.listMembers(s.db, tenant.tenantId, resource.id, 'enrolled', { page: 1, perPage: 100 });
    assert.deepEqual(again.items.map((m) => m.lastUsedAt?.toISOString() ?? null).sort(), [usedAt.toISOString(), null, null]);
    const expired = all.items.find((m) => m.status === 'invitation_expired')!;
    assert.ok(expired.invitedAt && expired.expiresAt && expired.expiresAt.getTime() < Date.now());
    assert.equal(all.items.find((m) => users.get(m.userId) === 'cancelled')!.invitedAt, null, 'a cancelled invitation is not shown');
  });

  it("is tenant-scoped: another tenant's resource id gives nothing", async () => {
    const s = ctx.services;
    const a = await createTenant(s);
    const b = await createTenant(s);
    const resource = await createResource(s, b);
    await memberIn(s, b, resource.id, 'enrolled');
    assert.deepEqual(await repo.countEnrollment(s.db, a.tenantId, resource.id), { assigned: 0, enrolled: 0, invited: 0, notInvited: 0 });
    assert.equal((await repo.listMembers(s.db, a.tenantId, resource.id, undefined, { page: 1, perPage: 10 })).total, 0);
    assert.deepEqual(await repo.membersAfter(s.db, a.tenantId, resource.id, undefined, undefined, 10), { items: [] });
    assert.deepEqual(await repo.countEnrollment(s.db, a.tenantId, 'not-a-uuid'), { assigned: 0, enrolled: 0, invited: 0, notInvited: 0 });
  });

  it('reads members in keyset batches in login order, without gaps or repeats', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    for (let i = 0; i < 7; i++) await memberIn(s, tenant, resource.id, i % 2 ? 'enrolled' : 'not_invited', { login: `Member-${i}` });
    const read = async (status?: repo.EnrollmentStatus) => {
      const seen: string[] = [];
      let after: { login: string; userId: string } | undefined;
      do {
        const batch = await repo.membersAfter(s.db, tenant.tenantId, resource.id, status, after, 3);
        seen.push(...batch.items.map((m) => m.login));
        after = batch.next;
      } while (after);
      return seen;
    };
    assert.deepEqual(await read(), Array.from({ length: 7 }, (_, i) => `Member-${i}`));
    // A filtered batch may hold fewer than 3 rows; the reading goes on to the end all the same.
    assert.deepEqual(await read('enrolled'), ['Member-1', 'Member-3', 'Member-5']);
    assert.deepEqual(await read('not_invited'), ['Member-0', 'Member-2', 'Member-4', 'Member-6']);
  });

  it('dates an enrolment at the later of assignment and token assignment, per UTC day', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    const early = await memberIn(s, tenant, resource.id, 'enrolled');
    const late = await memberIn(s, tenant, resource.id, 'enrolled');
    await memberIn(s, tenant, resource.id, 'invited');
    await s.db('resource_users').where({ resource_id: resource.id }).update({ created_at: new Date('2026-11-01T10:00:00Z') });
    await s.db('token_resources').where({ resource_id: resource.id }).whereIn('token_id', s.db('tokens').where({ user_id: early.id }).select('id')).update({ created_at: new Date('2026-10-01T10:00:00Z') });
    await s.db('token_resources').where({ resource_id: resource.id }).whereIn('token_id', s.db('tokens').where({ user_id: late.id }).select('id')).update({ created_at: new Date('2026-11-20T23:30:00Z') });
    const now = new Date('2026-12-06T12:00:00Z');
    const { firstAssignedDay, days } = await repo.enrollmentFigures(s.db, tenant.tenantId, resource.id, chartWindowStart(now));
    const data = { firstAssignedDay: firstAssignedDay!, days };
    // Enrolments before `since` are summed on the day before it.
    assert.deepEqual(data, { firstAssignedDay: '2026-11-01', days: [{ day: '2026-11-06', count: 1 }, { day: '2026-11-20', count: 1 }] });
    const points = cumulativeByDay(data.days, data.firstAssignedDay, now);
    assert.equal(points.length, 30);
    assert.deepEqual(points[0], { day: '2026-11-07', enrolled: 1 }, 'enrolments before the window count in its first day');
    assert.deepEqual(points.find((p) => p.day === '2026-11-20'), { day: '2026-11-20', enrolled: 2 });
    assert.deepEqual(points.at(-1), { day: '2026-12-06', enrolled: 2 });
    const young = cumulativeByDay([{ day: '2026-12-05', count: 3 }], '2026-12-04', new Date('2026-12-06T01:00:00Z'));
    assert.deepEqual(young, [{ day: '2026-12-04', enrolled: 0 }, { day: '2026-12-05', enrolled: 3 }, { day: '2026-12-06', enrolled: 3 }]);
  });

  it('answers the counts of 5 000 members without a Seq Scan on users, resource_users or token_resources', async () => {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant);
    // 5 000 members: a fifth enrolled (one TOTP token each), a fifth invited, the rest never invited.
    await s.db.raw(
      `WITH u AS (
         INSERT INTO users (tenant_id, login) SELECT ?, 'bulk-' || g FROM generate_series(1, 5000) g RETURNING id, login
       ), ru AS (
         INSERT INTO resource_users (tenant_id, resource_id, user_id) SELECT ?, ?, id FROM u RETURNING user_id
       ), t AS (
         INSERT INTO tokens (tenant_id, user_id, type, serial, enabled) SELECT ?, id, 'email', 'BULK-' || login, true FROM u WHERE split_part(login, '-', 2)::int % 5 = 0 RETURNING id
       ), tr AS (
         INSERT INTO token_resources (tenant_id, token_id, resource_id) SELECT ?, id, ? FROM t RETURNING token_id
       )
       INSERT INTO enrollment_invitations (tenant_id, resource_id, user_id, expires_at)
         SELECT ?, ?, id, now() + interval '30 days' FROM u WHERE split_part(login, '-', 2)::int % 5 = 1`,
      [tenant.tenantId, tenant.tenantId, resource.id, tenant.tenantId, tenant.tenantId, resource.id, tenant.tenantId, resource.id],
    );
    await s.db.raw('ANALYZE users, resource_users, tokens, token_resources, enrollment_invitations, portal_enrollments');
    assert.deepEqual(await repo.countEnrollment(s.db, tenant.tenantId, resource.id), { assigned: 5000, enrolled: 1000, invited: 1000, notInvited: 3000 });

    const { sql, bindings } = repo.countEnrollmentSql(s.db, tenant.tenantId, resource.id, new Date(Date.now() - 30 * 86_400_000));
    // Here this tenant holds a large share of the shared test tables, where a scan is the cheaper
    // plan; with seq scans priced out the planner still picks a scan when no index can serve a
    // predicate, so the plan shows whether the query is indexable (what a big database needs).
    const plan = await s.db.transaction(async (trx) => {
      await trx.raw('SET LOCAL enable_seqscan = off');
      return (await trx.raw(`EXPLAIN ${sql}`, bindings as never)).rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
    });
    for (const table of ['users', 'resource_users', 'token_resources', 'tokens']) {
      assert.doesNotMatch(plan, new RegExp(`Seq Scan on ${table}\\b`), plan);
    }
    const timings: number[] = [];
    for (let i = 0; i < 15; i++) {
      const started = process.hrtime.bigint();
      await repo.countEnrollment(s.db, tenant.tenantId, resource.id);
      timings.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    timings.sort((x, y) => x - y);
    if (process.env.TEST_LOG_TIMINGS) console.log(`counts of 5 000 members: median ${timings[7].toFixed(1)} ms, max ${timings[14].toFixed(1)} ms`);
  });
});
