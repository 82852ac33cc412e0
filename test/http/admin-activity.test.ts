/**
 * Issue 15 §12: a resource's Activity tab (successes, failures and locks per hour for 24 h and per
 * day for 30 days, SVG with a table) and the console home (the tenant at a glance), from real
 * authentications through the API. Tenant- and scope-bound; the count query uses the audit index.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant, createUser } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { signIn } from '../helpers/admin-agent';
import { scopedTenant } from '../helpers/resource-scope';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';
import { countByBucketQuery } from '../../src/audit/auth-stats.repository';

const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');

describe('authentication charts and the console home', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  /** A tenant whose user signs in once, then fails 3 times and is locked. */
  async function world() {
    const s = ctx.services;
    const tenant = await createTenant(s);
    const resource = await createResource(s, tenant, { failedAttemptsLimit: 3, lockMinutes: 15 });
    const user = await createUser(s, tenant);
    await s.users.assign(tenant.actor, resource.id, user.id);
    const { token } = await s.tokens.create(tenant.actor, { type: 'hotp', userId: user.id, secret: base32Encode(SEED), counter: 0 });
    await s.tokens.assignToResource(tenant.actor, resource.id, token.id);
    const api = apiClient(ctx.app, tenant.apiKey);
    const ok = await api.post(`/resources/${resource.id}/authenticate`, { login: user.login, otp: generateHotp(SEED, 0, { algorithm: 'SHA1', digits: 6 }) });
    assert.equal(ok.body.result, true, ok.text);
    for (let i = 0; i < 3; i++) await api.post(`/resources/${resource.id}/authenticate`, { login: user.login, otp: '000000' });
    return { tenant, resource, user };
  }

  it('the Activity tab counts this hour and today, with a 24-row and a 30-row table and an SVG', async () => {
    const { tenant, resource } = await world();
    const agent = await signIn(ctx.app, tenant);
    const res = await agent.get(`/admin/resources/${resource.id}/activity`);
    assert.equal(res.status, 200);
    for (const id of ['hourly', 'daily']) {
      const section = res.text.split(`id="chart-${id}"`)[1].split('</section>')[0];
      assert.match(section, /Successes: 1 · Failures: 3 · Locks: 1/);
      assert.match(section, /<svg [^>]*role="img"/);
      assert.match(section, /class="bar successes"/);
      assert.match(section, /class="bar failures"/);
      assert.match(section, /class="bar locks"/);
      const rows = section.split('<tbody>')[1].split('</tbody>')[0].match(/<tr>/g) ?? [];
      assert.equal(rows.length, id === 'hourly' ? 24 : 30);
      // The last row is now: 1 success, 3 failures, 1 lock.
      assert.match(section.split('<tbody>')[1].split('</tbody>')[0].split('<tr>').at(-1)!, /data-label="Successes">1<.*data-label="Failures">3<.*data-label="Locks">1</s);
    }
    // An htmx tab request gets the tab alone.
    const fragment = await agent.get(`/admin/resources/${resource.id}/activity`).set('HX-Request', 'true');
    assert.doesNotMatch(fragment.text, /<html/);
    assert.match(fragment.text, /id="chart-hourly"/);
  });

  it('another tenant\'s resource, a malformed id and a resource outside a limited admin\'s scope are 404', async () => {
    const { resource } = await world();
    const other = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, other);
    assert.equal((await agent.get(`/admin/resources/${resource.id}/activity`)).status, 404);
    assert.equal((await agent.get('/admin/resources/nope/activity')).status, 404);
    const w = await scopedTenant(ctx.services);
    const limited = await signIn(ctx.app, w.limited);
    assert.equal((await limited.get(`/admin/resources/${w.r2.id}/activity`)).status, 404);
    assert.equal((await limited.get(`/admin/resources/${w.r1.id}/activity`)).status, 200);
  });

  it('the home page shows the tenant at a glance and its recent lockouts only', async () => {
    const { tenant, user } = await world();
    await world(); // another tenant's lock must not show
    const agent = await signIn(ctx.app, tenant);
    const res = await agent.get('/admin/home');
    assert.equal(res.status, 200);
    assert.match(res.text, /data-count="resources"><a href="\/admin\/resources">1</);
    assert.match(res.text, /data-count="users"><a href="\/admin\/users">1</);
    assert.match(res.text, /data-count="enrolled">100 %</);
    assert.match(res.text, /data-count="successes">1</);
    assert.match(res.text, /data-count="failures">3</);
    const locks = res.text.split('id="recent-locks"')[1].split('</table>')[0];
    assert.equal((locks.match(/<tr>/g) ?? []).length - 1, 1, 'one lock row under the header');
    assert.match(locks, new RegExp(`>${user.login}</a>`));
  });

  it('a limited admin\'s home counts only their resources', async () => {
    const w = await scopedTenant(ctx.services);
    const limited = await signIn(ctx.app, w.limited);
    const res = await limited.get('/admin/home');
    assert.equal(res.status, 200);
    assert.match(res.text, /data-count="resources"><a href="\/admin\/resources">1</);
    // u1 and u12 are in R1.
    assert.match(res.text, /data-count="users"><a href="\/admin\/users">2</);
  });

  it('the count query reads the (tenant_id, resource_id, created_at) index of the audit log', async () => {
    const { tenant, resource } = await world();
    const plan = await ctx.services.db.transaction(async (trx) => {
      await trx.raw('SET LOCAL enable_seqscan = off');
      const built = countByBucketQuery(trx, tenant.tenantId, resource.id, new Date(Date.now() - 86_400_000), 'hour').toSQL().toNative();
      return (await trx.raw(`EXPLAIN ${built.sql.replace(/\$\d+/g, '?')}`, built.bindings as never)).rows.map((r: { 'QUERY PLAN': string }) => r['QUERY PLAN']).join('\n');
    });
    assert.match(plan, /audit_events_resource_idx/, plan);
  });
});
