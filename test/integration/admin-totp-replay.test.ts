import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { authenticator } from 'otplib';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant } from '../helpers/factories';

describe('console TOTP replay protection (SEC-05)', () => {
  let ctx: TestContext;
  const verify = (tenantId: string, adminId: string, code: string) => ctx.services.adminSignIn.verifyTotp(tenantId, adminId, code).then((r) => r.ok);
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  it('accepts one of 20 concurrent submissions of the same code', async () => {
    const tenant = await createTenant(ctx.services);
    const code = authenticator.generate(tenant.totpSecret);
    const results = await Promise.all(Array.from({ length: 20 }, () => verify(tenant.tenantId, tenant.adminId, code)));
    assert.equal(results.filter(Boolean).length, 1);
    const audit = await ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action: 'admin.sign_in' }).select('result');
    assert.equal(audit.filter((a) => a.result === 'success').length, 1);
    assert.equal(audit.filter((a) => a.result === 'failure').length, 19);
  });

  it('refuses an older code after a newer one succeeded', async () => {
    const tenant = await createTenant(ctx.services);
    const now = Date.now();
    const previous = authenticator.clone({ epoch: now - 30_000 }).generate(tenant.totpSecret);
    const current = authenticator.clone({ epoch: now }).generate(tenant.totpSecret);
    if (previous === current) return; // vanishingly rare collision: nothing to prove
    assert.equal(await verify(tenant.tenantId, tenant.adminId, current), true);
    assert.equal(await verify(tenant.tenantId, tenant.adminId, previous), false);
  });

  it("never accepts a code for another tenant's admin (SEC-20)", async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const code = authenticator.generate(a.totpSecret);
    assert.equal(await verify(b.tenantId, a.adminId, code), false);
    assert.equal(await verify(a.tenantId, a.adminId, code), true);
  });
});
