/**
 * Issue 12 §5 through the services alone (no HTTP): an admin limited to R1 reaches R1, its users
 * and tokens, and gets NotFound for everything else from every service; owners, unlimited admins
 * and auditors are unaffected; the owner's rules for setting the limit.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, unique } from '../helpers/factories';
import { consoleActor, scopedTenant, type ScopedTenant } from '../helpers/resource-scope';
import { ForbiddenError, NotFoundError, ValidationError } from '../../src/lib/errors';
import type { Actor } from '../../src/audit/actor';

const PAGE = { page: 1, perPage: 100 };

describe('services: admin limited to selected resources (issue 12 §5)', () => {
  let ctx: TestContext;
  let t: ScopedTenant;
  let actor: Actor;
  before(async () => {
    ctx = await createTestContext();
    t = await scopedTenant(ctx.services);
    actor = await consoleActor(ctx.services, t.limited);
    assert.deepEqual(actor.resourceIds, [t.r1.id], 'the console actor carries the admin resources');
  });
  after(() => ctx.close());

  const notFound = (p: Promise<unknown>) => assert.rejects(p, NotFoundError);

  it('resources: only R1 is listed; R2 is not found for every read and change; creating one is refused with a reason', async () => {
    const s = ctx.services;
    assert.deepEqual((await s.resources.list(actor, '', PAGE)).items.map((r) => r.id), [t.r1.id]);
    assert.equal((await s.resources.get(actor, t.r1.id)).id, t.r1.id);
    await notFound(s.resources.get(actor, t.r2.id));
    await notFound(s.resources.update(actor, t.r2.id, { description: 'x' }));
    await notFound(s.resources.remove(actor, t.r2.id));
    await assert.rejects(s.resources.create(actor, { name: unique('New') }), (err: Error) => err instanceof ForbiddenError && /ask an owner/.test(err.message));
    assert.equal((await s.resources.update(actor, t.r1.id, { description: 'in scope' })).description, 'in scope');
  });

  it('self-service configuration, invitations and enrolment progress of R2 are not found; R1 works', async () => {
    const s = ctx.services;
    await notFound(s.selfService.get(actor, t.r2.id));
    await notFound(s.selfService.update(actor, t.r2.id, { address: unique('beta').toLowerCase(), allowedActions: [], enrollmentTokenTypes: [] }));
    await notFound(s.selfService.updateActions(actor, t.r2.id, []));
    await notFound(s.invitations.invite(actor, t.r2.id, { userIds: [t.users.u2.id] }));
    await notFound(s.invitations.resend(actor, t.r2.id, t.users.u2.id));
    await notFound(s.invitations.cancel(actor, t.r2.id, t.users.u2.id));
    await notFound(s.invitations.list(actor, t.r2.id, PAGE));
    await notFound(s.invitations.statesOf(actor, t.r2.id, [t.users.u2.id]));
    await notFound(s.enrollmentProgress.counts(actor, t.r2.id));
    await notFound(s.enrollmentProgress.progress(actor, t.r2.id));
    await notFound(s.enrollmentProgress.progress(actor, t.r2.id));
    await notFound(s.enrollmentProgress.members(actor, t.r2.id, undefined, PAGE));
    await notFound(s.enrollmentProgress.exportMembers(actor, t.r2.id, undefined));
    await notFound(s.users.usersOfResource(actor, t.r2.id, PAGE));

    await s.selfService.updateGeneral(actor, t.r1.id, unique('alpha').toLowerCase());
    assert.equal((await s.selfService.get(actor, t.r1.id)).resourceId, t.r1.id);
    assert.deepEqual((await s.users.usersOfResource(actor, t.r1.id, PAGE)).items.map((u) => u.id).sort(), [t.users.u1.id, t.users.u12.id].sort());
    assert.equal((await s.enrollmentProgress.counts(actor, t.r1.id)).assigned, 2);
    const newcomer = await s.users.create(actor, { login: unique('new'), email: `${unique('new')}@example.test` }, { resourceIds: [t.r1.id] });
    const invited = await s.invitations.invite(actor, t.r1.id, { userIds: [newcomer.id] });
    assert.equal(invited.invited, 1);
    assert.equal((await s.invitations.list(actor, t.r1.id, PAGE)).total, 1);
  });

  it('users: only those assigned to R1; any other is not found for every read and change', async () => {
    const s = ctx.services;
    const { u1, u2, u12, u0 } = t.users;
    const listed = (await s.users.list(actor, '', PAGE)).items.map((u) => u.id);
    assert.ok(listed.includes(u1.id) && listed.includes(u12.id));
    assert.ok(!listed.includes(u2.id) && !listed.includes(u0.id));
    assert.equal((await s.users.list(actor, u2.login, PAGE)).total, 0, 'search does not reach outside the scope');
    for (const other of [u2, u0]) {
      await notFound(s.users.get(actor, other.id));
      await notFound(s.users.update(actor, other.id, { firstName: 'X' }));
      await notFound(s.users.update(actor, other.id, { password: 'a brand new passphrase' }));
      await notFound(s.users.block(actor, other.id));
      await notFound(s.users.unblock(actor, other.id));
      await notFound(s.users.remove(actor, other.id));
      await notFound(s.users.assign(actor, t.r1.id, other.id));
      await notFound(s.users.assignmentsOf(actor, other.id));
      assert.equal(await s.users.findByLogin(actor, other.login), undefined);
    }
    await notFound(s.users.assign(actor, t.r2.id, u1.id));
    await notFound(s.users.unassign(actor, t.r2.id, u12.id));
    await notFound(s.users.unlock(actor, t.r2.id, u12.id));
    assert.deepEqual((await s.users.assignmentsOf(actor, u12.id)).map((a) => a.resourceId), [t.r1.id], 'only the scope assignments are shown');
    assert.equal((await s.users.update(actor, u12.id, { firstName: 'Both' })).firstName, 'Both');
    assert.equal((await s.users.findByLogin(actor, u1.login))?.id, u1.id);
    // The owner still sees the R2 assignment the limited admin could not touch.
    assert.equal((await s.users.assignmentsOf(t.owner.actor, u12.id)).length, 2);
  });

  it('users: a new user must join one of the admin resources, in the same transaction', async () => {
    const s = ctx.services;
    await assert.rejects(s.users.create(actor, { login: unique('nores') }), (err: Error) => err instanceof ValidationError && 'resourceIds' in err.fields);
    await notFound(s.users.create(actor, { login: unique('r2') }, { resourceIds: [t.r2.id] }));
    const login = unique('fresh');
    assert.equal(await s.users.findByLogin(t.owner.actor, login), undefined);
    const created = await s.users.create(actor, { login }, { resourceIds: [t.r1.id] });
    assert.deepEqual((await s.users.assignmentsOf(actor, created.id)).map((a) => a.resourceId), [t.r1.id]);
    const audit = await s.db('audit_events').where({ tenant_id: t.owner.tenantId, target_id: created.id }).orderBy('id').pluck('action');
    assert.deepEqual(audit, ['user.create', 'resource.user.assign']);
  });

  it('tokens: only those assigned to R1; others (R2 only, stock) are not found for every read and change', async () => {
    const s = ctx.services;
    const { t1, t2, t12, t12b, tStock } = t.tokens;
    const listed = (await s.tokens.list(actor, {}, PAGE)).items.map((x) => x.id);
    assert.ok(listed.includes(t1.id) && listed.includes(t12.id));
    assert.ok(![t2.id, t12b.id, tStock.id].some((id) => listed.includes(id)));
    assert.equal((await s.tokens.list(actor, {}, PAGE)).items.find((x) => x.id === t12.id)?.resourceCount, 1, 'R2 assignments are not counted');
    await notFound(s.tokens.list(actor, { status: 'stock' }, PAGE));
    for (const other of [t2, t12b, tStock]) {
      await notFound(s.tokens.get(actor, other.id));
      await notFound(s.tokens.update(actor, other.id, { name: 'x' }));
      await notFound(s.tokens.setEnabled(actor, other.id, false));
      await notFound(s.tokens.setPin(actor, other.id, { pin: '1234' }));
      await notFound(s.tokens.clearPin(actor, other.id));
      await notFound(s.tokens.resetDrift(actor, other.id));
      await notFound(s.tokens.resetFailures(actor, other.id));
      await notFound(s.tokens.resync(actor, other.id, '123456', '234567'));
      await notFound(s.tokens.verify(actor, other.id, '123456'));
      await notFound(s.tokens.remove(actor, other.id));
      await notFound(s.tokens.assignToResource(actor, t.r1.id, other.id));
    }
    await notFound(s.tokens.unassignFromResource(actor, t.r2.id, t12.id));
    assert.deepEqual((await s.tokens.resourcesOf(actor, t12.id)).map((r) => r.id), [t.r1.id]);
    const ofBoth = await s.tokens.tokensOfUser(actor, t.users.u12.id);
    assert.deepEqual(ofBoth.map((x) => [x.id, x.resources.map((r) => r.id)]), [[t12.id, [t.r1.id]]]);
    assert.equal((await s.tokens.setEnabled(actor, t1.id, false)).enabled, false);
    await s.tokens.setEnabled(actor, t1.id, true);
    // A new owner would take the token out of its resources, and so out of the admin's sight.
    await assert.rejects(s.tokens.update(actor, t1.id, { userId: t.users.u12.id }), ForbiddenError);
    await assert.rejects(s.tokens.update(actor, t1.id, { userId: null }), ForbiddenError);
  });

  it('tokens: a new token needs an owner in scope and one of the admin resources, and ends assigned there', async () => {
    const s = ctx.services;
    await assert.rejects(s.tokens.create(actor, { type: 'totp' }), (err: Error) => err instanceof ValidationError && 'userId' in err.fields);
    await assert.rejects(s.tokens.create(actor, { type: 'totp', userId: t.users.u1.id }), (err: Error) => err instanceof ValidationError && 'resourceId' in err.fields);
    await notFound(s.tokens.create(actor, { type: 'totp', userId: t.users.u2.id }, { resourceId: t.r1.id }));
    await notFound(s.tokens.create(actor, { type: 'totp', userId: t.users.u12.id }, { resourceId: t.r2.id }));
    const { token } = await s.tokens.create(actor, { type: 'totp', userId: t.users.u12.id }, { resourceId: t.r1.id });
    assert.deepEqual((await s.tokens.resourcesOf(t.owner.actor, token.id)).map((r) => r.id), [t.r1.id]);
    assert.equal((await s.tokens.get(actor, token.id)).id, token.id);
  });

  it('tenant-wide things (token and user imports, the Outbox) are not found', async () => {
    const s = ctx.services;
    const anImport = await s.userImports.startImport(t.owner.actor, { filename: 'u.csv', content: Buffer.from(`login\n${unique('imp')}\n`), updateExisting: false });
    await notFound(s.userImports.startImport(actor, { filename: 'u.csv', content: Buffer.from('login\nx\n'), updateExisting: false }));
    await notFound(s.userImports.listRecent(actor));
    await notFound(s.userImports.get(actor, anImport.id));
    await notFound(s.userImports.errors(actor, anImport.id));
    await notFound(s.tokenImports.startImport(actor, { filename: 't.csv', content: Buffer.from('serial,secret\nX1,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n') }));
    await notFound(s.tokenImports.listRecent(actor));
    const message = await s.messages.send(t.owner.tenantId, { recipient: 'x@example.test', subject: 'Hi', bodyText: 'Hello' });
    await notFound(s.messages.list(actor, PAGE));
    await notFound(s.messages.get(actor, message.id));
    assert.ok((await s.messages.list(t.owner.actor, PAGE)).total >= 1);
  });

  it('audit log: only events of R1', async () => {
    const page = await ctx.services.audit.list(actor, {}, { limit: 200 });
    assert.ok(page.items.length > 0);
    assert.ok(page.items.every((e) => e.resource_id === t.r1.id), 'every event is one of R1');
    const all = await ctx.services.audit.list(t.owner.actor, {}, { limit: 200 });
    assert.ok(all.items.some((e) => e.resource_id === t.r2.id), 'the owner sees R2 events');
    assert.ok(all.items.some((e) => e.resource_id === null));
  });

  it('owners, unlimited admins, auditors and API keys see the whole tenant', async () => {
    const s = ctx.services;
    const admin = await addAdmin(s, t.owner, 'admin');
    const auditor = await addAdmin(s, t.owner, 'auditor');
    const apiKey: Actor = { tenantId: t.owner.tenantId, type: 'api_key', id: 'k' };
    for (const who of [t.owner.actor, await consoleActor(s, admin), await consoleActor(s, auditor), apiKey]) {
      assert.equal(who.resourceIds, undefined);
      assert.equal((await s.resources.list(who, '', PAGE)).total, 2);
      assert.equal((await s.users.list(who, '', PAGE)).total >= 4, true);
      assert.equal((await s.tokens.get(who, t.tokens.t2.id)).id, t.tokens.t2.id);
      assert.equal((await s.tokens.list(who, { status: 'stock' }, PAGE)).total, 1);
    }
  });

  it('limited to no resources sees nothing; deleting the last resource leaves the admin limited, not unlimited', async () => {
    const s = ctx.services;
    const own = await scopedTenant(s);
    await s.resources.remove(own.owner.actor, own.r1.id);
    const loaded = (await s.admins.activeAdmin(own.limited.tenantId, own.limited.adminId))!;
    assert.equal(loaded.limitedToResources, true);
    const none = await consoleActor(s, own.limited);
    assert.deepEqual(none.resourceIds, []);
    assert.equal((await s.resources.list(none, '', PAGE)).total, 0);
    assert.equal((await s.users.list(none, '', PAGE)).total, 0);
    assert.equal((await s.tokens.list(none, {}, PAGE)).total, 0);
    assert.equal((await s.audit.list(none, {}, { limit: 200 })).items.length, 0);
    await notFound(s.resources.get(none, own.r2.id));
    await notFound(s.users.get(none, own.users.u2.id));
    await assert.rejects(s.users.create(none, { login: unique('x') }), ValidationError);
  });

  it('setting the limit: owners only, role admin only, the tenant resources only; audited; a role change drops it', async () => {
    const s = ctx.services;
    const own = await scopedTenant(s);
    const other = await scopedTenant(s);
    await assert.rejects(s.admins.setResourceScope(own.limited.actor, own.limited.adminId, { limited: false }), ForbiddenError);
    const unlimited = await addAdmin(s, own.owner, 'admin');
    await assert.rejects(s.admins.setResourceScope(unlimited.actor, own.limited.adminId, { limited: false }), ForbiddenError);
    const auditor = await addAdmin(s, own.owner, 'auditor');
    await assert.rejects(s.admins.setResourceScope(own.owner.actor, auditor.adminId, { limited: true, resourceIds: [own.r1.id] }), ValidationError);
    await assert.rejects(s.admins.setResourceScope(own.owner.actor, own.limited.adminId, { limited: true, resourceIds: [other.r1.id] }), ValidationError);
    await notFound(s.admins.setResourceScope(own.owner.actor, other.limited.adminId, { limited: false }));

    const changed = await s.admins.setResourceScope(own.owner.actor, own.limited.adminId, { limited: true, resourceIds: [own.r1.id, own.r2.id] });
    assert.deepEqual([...changed.resourceIds!].sort(), [own.r1.id, own.r2.id].sort());
    const event = await s.db('audit_events').where({ tenant_id: own.owner.tenantId, action: 'admin.resources.change', target_id: own.limited.adminId }).orderBy('id', 'desc').first();
    assert.deepEqual(event.details.from, { limited: true, resourceIds: [own.r1.id] });
    assert.equal(event.details.to.limited, true);
    assert.equal(event.actor_id, own.owner.adminId);

    await s.admins.changeRole(own.owner.actor, own.limited.adminId, 'auditor');
    await s.admins.changeRole(own.owner.actor, own.limited.adminId, 'admin');
    assert.equal((await consoleActor(s, own.limited)).resourceIds, undefined, 'back to admin: all resources');
  });

  it('an invitation can limit the invited admin at once', async () => {
    const s = ctx.services;
    const email = `${unique('scoped')}@example.test`;
    const invited = await s.admins.invite(t.owner.actor, { email, role: 'admin', limited: true, resourceIds: [t.r2.id] });
    assert.deepEqual((await s.admins.get(t.owner.tenantId, invited.id)).resourceIds, [t.r2.id]);
    await assert.rejects(s.admins.invite(t.owner.actor, { email: `${unique('own')}@example.test`, role: 'owner', limited: true, resourceIds: [] }), ValidationError);
  });
});
