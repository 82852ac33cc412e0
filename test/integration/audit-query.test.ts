/**
 * The audit log's read side (issue 13 §3) on real PostgreSQL: every filter, the search, keyset
 * paging in both directions, names instead of ids, tenant isolation and the resource scope of a
 * limited admin. Events are written by SQL with chosen times so each filter has a known answer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser, type TestTenant } from '../helpers/factories';
import { parseAuditQuery } from '../../src/audit/audit-filter';
import { actionWords } from '../../src/audit/audit-words';
import { ValidationError } from '../../src/lib/errors';
import type { Actor } from '../../src/audit/actor';

interface World {
  t: TestTenant;
  keyId: string;
  alice: { id: string; login: string };
  bob: { id: string; login: string };
  vpn: { id: string; name: string };
  wiki: { id: string; name: string };
  tokenId: string;
  serial: string;
}

describe('audit log queries', () => {
  let ctx: TestContext;
  let w: World;
  let other: TestTenant;
  let otherUserId: string;
  let otherResourceId: string;

  const list = (query: Record<string, string>, actor: Actor = w.t.actor) => {
    const { filter, page } = parseAuditQuery(query, { strict: true });
    return ctx.services.audit.list(actor, filter, page);
  };
  const actions = async (query: Record<string, string>, actor?: Actor) => (await list(query, actor)).items.map((e) => e.action);

  before(async () => {
    ctx = await createTestContext();
    const t = await createTenant(ctx.services);
    const db = ctx.services.db;
    const key = await ctx.services.apiKeys.create(t.actor, { name: 'VPN gateway' });
    const alice = await createUser(ctx.services, t, { login: 'alice.audit' , email: 'alice@example.test' });
    const bob = await createUser(ctx.services, t, { login: 'bob.audit' });
    const vpn = await createResource(ctx.services, t, { name: 'Audit VPN' });
    const wiki = await createResource(ctx.services, t, { name: 'Audit Wiki' });
    const [token] = await db('tokens').insert({ tenant_id: t.tenantId, user_id: alice.id, type: 'hardware', serial: 'HW-0042' }).returning('id');
    w = { t, keyId: key.key.id, alice: { id: alice.id, login: alice.login }, bob: { id: bob.id, login: bob.login }, vpn: { id: vpn.id, name: vpn.name }, wiki: { id: wiki.id, name: wiki.name }, tokenId: token.id, serial: 'HW-0042' };
    // Only these events, so each filter has a known answer: the factories' own events go.
    await db('audit_events').where({ tenant_id: t.tenantId }).del();
    const at = (iso: string) => new Date(iso);
    const ev = (e: Record<string, unknown>) => ({ tenant_id: t.tenantId, result: 'success', details: '{}', ...e });
    await db('audit_events').insert([
      ev({ actor_type: 'api_key', actor_id: w.keyId, action: 'authenticate', target_type: 'user', target_id: alice.id, resource_id: vpn.id, created_at: at('2026-03-01T10:00:00Z'), ip: '10.1.1.1' }),
      ev({ actor_type: 'api_key', actor_id: w.keyId, action: 'authenticate', target_type: 'user', target_id: bob.id, resource_id: vpn.id, result: 'failure', created_at: at('2026-03-02T10:00:00Z') }),
      ev({ actor_type: 'user', actor_id: alice.id, action: 'portal.sign_in', target_type: 'user', target_id: alice.id, resource_id: wiki.id, created_at: at('2026-03-03T23:59:59Z') }),
      ev({ actor_type: 'admin', actor_id: t.adminId, action: 'user.block', target_type: 'user', target_id: bob.id, created_at: at('2026-03-04T00:00:00Z') }),
      ev({ actor_type: 'admin', actor_id: t.adminId, action: 'token.update', target_type: 'token', target_id: token.id, created_at: at('2026-03-05T12:00:00Z') }),
      ev({ actor_type: 'system', actor_label: 'invitation reminders', action: 'invitation.reminder', target_type: 'user', target_id: bob.id, resource_id: wiki.id, created_at: at('2026-03-06T12:00:00Z') }),
      ev({ actor_type: 'admin', actor_id: t.adminId, action: 'user.delete', target_type: 'user', target_id: '00000000-0000-4000-8000-000000000001', details: JSON.stringify({ login: 'gone.user' }), created_at: at('2026-03-07T12:00:00Z') }),
    ]);
    other = await createTenant(ctx.services);
    otherUserId = (await createUser(ctx.services, other, { login: 'alice.audit' })).id;
    otherResourceId = (await createResource(ctx.services, other, { name: 'Audit VPN' })).id;
    await db('audit_events').where({ tenant_id: other.tenantId }).del();
    await db('audit_events').insert({ tenant_id: other.tenantId, actor_type: 'api_key', action: 'authenticate', target_type: 'user', target_id: otherUserId, resource_id: otherResourceId, result: 'failure', details: '{}', created_at: at('2026-03-03T00:00:00Z') });
  });
  after(() => ctx.close());

  it('lists newest first with names, not ids: actor, target, resource and a deleted target from its details', async () => {
    const { items } = await list({ from: '2026-01-01' });
    assert.deepEqual(items.map((e) => e.action), ['user.delete', 'invitation.reminder', 'token.update', 'user.block', 'portal.sign_in', 'authenticate', 'authenticate']);
    const auth = items[6];
    assert.equal(auth.actor_name, 'VPN gateway');
    assert.equal(auth.target_name, 'alice.audit');
    assert.equal(auth.resource_name, 'Audit VPN');
    assert.equal(items[3].actor_name, w.t.email);
    assert.equal(items[2].target_name, 'HW-0042', 'a token by its serial');
    assert.equal(items[1].actor_name, 'invitation reminders');
    assert.equal(items[0].target_name, null);
  });

  it('filters by time: a date-only "to" includes its day; a datetime is exact', async () => {
    assert.deepEqual(await actions({ from: '2026-03-02', to: '2026-03-03' }), ['portal.sign_in', 'authenticate']);
    assert.deepEqual(await actions({ from: '2026-03-03T23:59:59Z', to: '2026-03-04T00:00:00Z' }), ['user.block', 'portal.sign_in']);
    assert.deepEqual(await actions({ from: '2026-03-04T00:00:00.001Z', to: '2026-03-05T11:59:59+00:00' }), []);
  });

  it('filters by actor type, and by actor name or id (admin email, API key name, user login, system label)', async () => {
    assert.deepEqual(await actions({ actorType: 'system' }), ['invitation.reminder']);
    assert.deepEqual(await actions({ actor: 'vpn GATEWAY' }), ['authenticate', 'authenticate']);
    assert.deepEqual(await actions({ actor: w.keyId }), ['authenticate', 'authenticate']);
    assert.deepEqual(await actions({ actor: 'alice.audit', actorType: 'user' }), ['portal.sign_in']);
    assert.deepEqual(await actions({ actor: 'invitation reminders' }), ['invitation.reminder']);
    assert.deepEqual(await actions({ actor: 'alice.audit', actorType: 'admin' }), [], 'a user is not an admin');
    assert.deepEqual(await actions({ actor: 'nobody at all' }), []);
    const byAdmin = await actions({ actor: w.t.email, from: '2026-01-01' });
    assert.deepEqual(byAdmin, ['user.delete', 'token.update', 'user.block']);
  });

  it('filters by action, resource, target user and result', async () => {
    assert.deepEqual(await actions({ action: 'user.block' }), ['user.block']);
    assert.deepEqual(await actions({ action: 'no.such.action' }), []);
    assert.deepEqual(await actions({ resource: w.wiki.id }), ['invitation.reminder', 'portal.sign_in']);
    assert.deepEqual(await actions({ user: 'BOB.audit' }), ['invitation.reminder', 'user.block', 'authenticate']);
    assert.deepEqual(await actions({ user: w.alice.id }), ['portal.sign_in', 'authenticate']);
    assert.deepEqual(await actions({ user: 'nobody' }), []);
    assert.deepEqual(await actions({ result: 'failure' }), ['authenticate']);
    assert.deepEqual(await actions({ result: 'success', resource: w.vpn.id }), ['authenticate']);
    assert.deepEqual(await actions({ action: 'authenticate', resource: w.vpn.id, result: 'failure', user: 'bob.audit' }), ['authenticate']);
  });

  it('searches by exact name in any case: user login or email, API key, resource, token serial, an id', async () => {
    assert.deepEqual(await actions({ q: 'ALICE.audit' }), ['portal.sign_in', 'authenticate'], 'as actor or target, once each');
    assert.deepEqual(await actions({ q: 'alice@example.test' }), ['portal.sign_in', 'authenticate']);
    assert.deepEqual(await actions({ q: 'Audit Wiki' }), ['invitation.reminder', 'portal.sign_in']);
    assert.deepEqual(await actions({ q: 'hw-0042' }), ['token.update']);
    assert.deepEqual(await actions({ q: 'VPN gateway' }), ['authenticate', 'authenticate']);
    assert.deepEqual(await actions({ q: w.bob.id }), ['invitation.reminder', 'user.block', 'authenticate']);
    assert.deepEqual(await actions({ q: 'ali' }), [], 'no partial matches: only indexable exact names');
    assert.deepEqual(await actions({ q: 'alice.audit', result: 'failure' }), [], 'search combines with the other filters');
  });

  it('pages by keyset in both directions, ties on time broken by id, without counting', async () => {
    const db = ctx.services.db;
    const t = await createTenant(ctx.services);
    await db('audit_events').where({ tenant_id: t.tenantId }).del();
    const same = new Date('2026-05-05T05:05:05.123456Z');
    await db('audit_events').insert(Array.from({ length: 7 }, (_, i) => ({ tenant_id: t.tenantId, actor_type: 'system', actor_label: 'test', action: `test.e${i}`, result: 'success', details: '{}', created_at: i < 4 ? same : new Date(same.getTime() + i * 1000) })));
    await db.raw(`UPDATE audit_events SET created_at = '2026-05-05 05:05:05.123456+00' WHERE tenant_id = ? AND action IN ('test.e0','test.e1','test.e2','test.e3')`, [t.tenantId]);
    const seen: string[] = [];
    let page = await list({ from: '2026-01-01', limit: '3' }, t.actor);
    assert.equal(page.prevCursor, null);
    seen.push(...page.items.map((e) => e.action));
    while (page.nextCursor) {
      page = await list({ from: '2026-01-01', limit: '3', before: String(page.nextCursor) }, t.actor);
      seen.push(...page.items.map((e) => e.action));
      assert.ok(page.prevCursor, 'an older page links back');
    }
    assert.deepEqual(seen, ['test.e6', 'test.e5', 'test.e4', 'test.e3', 'test.e2', 'test.e1', 'test.e0']);
    const back = await list({ from: '2026-01-01', limit: '3', after: String(page.prevCursor) }, t.actor);
    assert.deepEqual(back.items.map((e) => e.action), ['test.e3', 'test.e2', 'test.e1'], 'Newer from the last page gives the page before it');
    assert.ok(back.nextCursor);
    assert.ok(back.prevCursor);
    const first = await list({ from: '2026-01-01', limit: '3', after: String(back.prevCursor) }, t.actor);
    assert.deepEqual(first.items.map((e) => e.action), ['test.e6', 'test.e5', 'test.e4']);
    assert.equal(first.prevCursor, null, 'the newest page has no Newer');
  });

  it('never shows another tenant’s events, and its ids as filters or cursor give nothing', async () => {
    const mine = await list({ from: '2026-01-01' });
    assert.ok(mine.items.every((e) => e.actor_name !== null || e.actor_type === 'system' || e.actor_id));
    assert.deepEqual(await actions({ resource: otherResourceId }), []);
    assert.deepEqual(await actions({ user: otherUserId }), []);
    assert.deepEqual(await actions({ q: otherUserId }), []);
    const theirEvent = await ctx.services.db('audit_events').where({ tenant_id: other.tenantId }).orderBy('id', 'desc').first('id');
    assert.deepEqual(await actions({ before: String(theirEvent.id + 1) }, w.t.actor).then((a) => a.length >= 0), true);
    assert.deepEqual(await actions({ after: String(theirEvent.id) }), [], 'a foreign event as cursor matches nothing');
    assert.deepEqual(await actions({ result: 'failure' }), ['authenticate']);
    assert.equal((await list({ result: 'failure' })).items[0].target_name, 'bob.audit');
    // Their "alice.audit" is another user: our user filter finds only ours.
    assert.deepEqual(await actions({ user: 'alice.audit' }), ['portal.sign_in', 'authenticate']);
    assert.deepEqual(await actions({ result: 'failure' }, other.actor), ['authenticate']);
  });

  it('limits an admin restricted to some resources to those resources’ events (Actor.resourceIds)', async () => {
    const limited: Actor = { ...w.t.actor, role: 'admin', resourceIds: [w.wiki.id] };
    assert.deepEqual(await actions({}, limited), ['invitation.reminder', 'portal.sign_in']);
    assert.deepEqual(await actions({ resource: w.vpn.id }, limited), []);
    assert.deepEqual(await actions({ q: 'alice.audit' }, limited), ['portal.sign_in']);
    const none: Actor = { ...w.t.actor, role: 'admin', resourceIds: [] };
    assert.deepEqual(await actions({}, none), []);
    const batches: string[] = [];
    for await (const batch of ctx.services.audit.export(limited, {})) batches.push(...batch.map((e) => e.action));
    assert.deepEqual(batches, ['invitation.reminder', 'portal.sign_in']);
  });

  it('refuses bad filters with a message naming them (never a database error)', () => {
    const refuse = (query: Record<string, unknown>, field: string, pattern: RegExp, strict = true) => {
      assert.throws(() => parseAuditQuery(query, { strict }), (err: unknown) => err instanceof ValidationError && pattern.test(err.fields[field] ?? ''), `${JSON.stringify(query)} → ${field}`);
    };
    refuse({ from: '2026-02-30' }, 'from', /must be a date/);
    refuse({ from: 'yesterday' }, 'from', /must be a date/);
    refuse({ to: '2026-03-01T10:00:00' }, 'to', /time zone/);
    refuse({ from: '2026-03-02', to: '2026-03-01' }, 'to', /after from/);
    refuse({ actorType: 'robot' }, 'actorType', /admin, api_key, user, system/);
    refuse({ resource: 'not-a-uuid' }, 'resource', /resource id/);
    refuse({ result: 'maybe' }, 'result', /success or failure/);
    refuse({ action: 'DROP TABLE' }, 'action', /action id/);
    refuse({ limit: '0' }, 'limit', /1 to 200/);
    refuse({ limit: '1000' }, 'limit', /1 to 200/);
    refuse({ before: '-1' }, 'before', /event id/);
    refuse({ before: '99999999999999999999' }, 'before', /event id/);
    refuse({ before: '5', after: '6' }, 'after', /not both/);
    refuse({ q: 'x'.repeat(201) }, 'q', /at most 200/);
    refuse({ q: ['a', 'b'] }, 'q', /once/);
    refuse({ actorid: 'x' }, 'actorid', /not recognised/);
    assert.doesNotThrow(() => parseAuditQuery({ actorid: 'x', page: '2' }, { strict: false }), 'the console ignores unknown parameters');
  });

  it('says actions in words, with a readable fallback for ids it does not know', () => {
    assert.equal(actionWords('user.block'), 'Blocked user');
    assert.equal(actionWords('authenticate'), 'Authentication');
    assert.equal(actionWords('widget.frob_nicate'), 'Widget: frob nicate');
  });
});
