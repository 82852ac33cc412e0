/**
 * Audit retention (issue 14): per-tenant days (400 by default), a batched purge that deletes only
 * the tenant's expired events and audits each batch, the hourly job through the sweep, the CLI.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant, type TestTenant } from '../helpers/factories';
import { lastLine, runCli } from '../helpers/cli';
import { waitUntil } from '../helpers/wait';
import { retentionJobId } from '../../src/audit/audit-retention.service';
import { createPurgeAuditProcessor } from '../../src/jobs/processors/purge-audit.processor';

const AGES = [1, 29, 31, 89, 91, 399, 401, 1000];

describe('audit retention', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  /** One `seeded` event per age (days ago), plus whatever the factories wrote now. */
  async function seed(tenant: TestTenant, ages = AGES) {
    await ctx.services.db.raw(
      `INSERT INTO audit_events (tenant_id, actor_type, action, result, details, created_at)
       SELECT ?, 'system', 'seeded', 'success', jsonb_build_object('age', a), now() - make_interval(days => a) FROM unnest(?::int[]) a`,
      [tenant.tenantId, ages],
    );
  }
  const seededAges = async (tenant: TestTenant) =>
    (await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'seeded' }).select('details')).map((r) => r.details.age as number).sort((a, b) => a - b);
  const purgedEvents = (tenant: TestTenant) => ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'audit.purged' }).orderBy('id');

  it('defaults to 400 days; an owner changes it, audited; others and bad values are refused', async () => {
    const r = ctx.services.auditRetention;
    const tenant = await createTenant(ctx.services);
    assert.equal(await r.retentionDays(tenant.tenantId), 400);
    assert.deepEqual(await r.setRetentionDays(tenant.actor, 90), { days: 90, changed: true });
    assert.deepEqual(await r.setRetentionDays(tenant.actor, '90'), { days: 90, changed: false });
    const [event] = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'audit.retention.changed' });
    assert.deepEqual([event.actor_id, event.details], [tenant.adminId, { from: 400, to: 90 }]);

    const admin = await addAdmin(ctx.services, tenant, 'admin');
    await assert.rejects(r.setRetentionDays(admin.actor, 60), { status: 403, message: /Only owners/ });
    await assert.rejects(r.setRetentionDays({ tenantId: tenant.tenantId, type: 'api_key', id: tenant.adminId, label: 'key' }, 60), { status: 403 }, 'an API key cannot shorten the log');
    for (const bad of [29, 3651, 1.5, '12 days', '', null, -1]) {
      await assert.rejects(r.setRetentionDays(tenant.actor, bad), (err: { status: number; fields: Record<string, string> }) => err.status === 422 && /from 30 to 3650/.test(err.fields.days), String(bad));
    }
    await assert.rejects(r.retentionDays('not-a-uuid'), { status: 404 });
    assert.equal(await r.retentionDays(tenant.tenantId), 90);
  });

  it('purges only the expired events of that tenant, in batches, each batch audited', async () => {
    const r = ctx.services.auditRetention;
    const short = await createTenant(ctx.services);
    const other = await createTenant(ctx.services);
    await r.setRetentionDays(short.actor, 30);
    await seed(short);
    await seed(other);

    // Batches of 2: the six expired events (31 .. 1000 days) take three full statements and an empty one.
    assert.equal(await r.purgeTenant(short.tenantId, 30, 2), 6);
    assert.deepEqual(await seededAges(short), [1, 29]);
    assert.deepEqual((await purgedEvents(short)).map((e) => e.details.deleted), [2, 2, 2]);
    assert.ok((await purgedEvents(short)).every((e) => e.actor_type === 'system' && e.details.olderThanDays === 30));
    assert.ok((await ctx.services.db('audit_events').where({ tenant_id: short.tenantId, action: 'audit.retention.changed' })).length === 1, 'recent events stay');
    assert.deepEqual(await seededAges(other), AGES, 'another tenant untouched');
    assert.equal(await r.purgeTenant(short.tenantId, 30, 2), 0, 'a second run finds nothing');
    assert.equal((await purgedEvents(short)).length, 3, 'and audits nothing');
  });

  it('the hourly job (via the sweep) applies each tenant its own retention; running it twice is harmless', async () => {
    const r = ctx.services.auditRetention;
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    await r.setRetentionDays(b.actor, 90);
    await seed(a);
    await seed(b);
    const now = new Date();
    assert.equal(await r.sweep(now), 1, 'enqueued');
    assert.equal(await r.sweep(now), 0, 'once per hour per process');
    assert.match(retentionJobId(now), /^audit-retention-\d{4}-\d\d-\d\d-\d\d$/);
    // The test context runs jobs in-process: the purge runs now.
    await waitUntil(async () => (await seededAges(b)).length === 4, 20_000, 'the purge of tenant b');
    await waitUntil(async () => (await seededAges(a)).length === 6, 20_000, 'the purge of tenant a');
    assert.deepEqual(await seededAges(a), [1, 29, 31, 89, 91, 399]);
    assert.deepEqual(await seededAges(b), [1, 29, 31, 89]);

    const processor = createPurgeAuditProcessor(r);
    await processor({}, { number: 1, final: false });
    await processor({}, { number: 2, final: true });
    assert.deepEqual(await seededAges(b), [1, 29, 31, 89]);
    assert.equal((await purgedEvents(b)).length, 1);
  });

  it('the CLI shows and sets the retention, refusing bad input with a message', async () => {
    const tenant = await createTenant(ctx.services);
    const shown = await runCli(['tenant:audit-retention', '--id', tenant.tenantId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.deepEqual(JSON.parse(lastLine(shown.stdout)), { tenantId: tenant.tenantId, days: 400 });
    const set = await runCli(['tenant:audit-retention', '--id', tenant.tenantId, '--days', '730']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(lastLine(set.stdout)), { tenantId: tenant.tenantId, days: 730, changed: true });
    const bad = await runCli(['tenant:audit-retention', '--id', tenant.tenantId, '--days', '7']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /days: Enter a whole number of days from 30 to 3650/);
    const unknown = await runCli(['tenant:audit-retention', '--id', '00000000-0000-0000-0000-000000000000', '--days', '90']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /not found/i);
    const [event] = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'audit.retention.changed' });
    assert.deepEqual([event.actor_type, event.actor_label, event.details], ['system', 'cli', { from: 400, to: 730 }]);
  });
});
