/** Issue 12 §4 over the API: GET /resources/{id}/enrollment and ?status= on the members list. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createResource, createTenant } from '../helpers/factories';
import { apiClient, assertApiError } from '../helpers/api-client';
import { memberIn, type MemberState } from '../helpers/enrollment-states';

describe('api: enrolment progress (issue 12 §4)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  async function populated() {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant);
    const logins: Record<string, string> = {};
    const states: MemberState[] = ['enrolled', 'enrolled', 'invited', 'invitation_expired', 'cancelled', 'not_invited'];
    for (const [i, state] of states.entries()) logins[`${state}-${i}`] = (await memberIn(ctx.services, tenant, resource.id, state, { login: `${state}-${i}` })).login;
    return { tenant, resource, api: apiClient(ctx.app, tenant.apiKey) };
  }

  it('answers {assigned, enrolled, invited, notInvited}, expired and cancelled invitations counted as not invited', async () => {
    const { resource, api } = await populated();
    const res = await api.get(`/resources/${resource.id}/enrollment`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { assigned: 6, enrolled: 2, invited: 1, notInvited: 3 });
  });

  it('answers zeros for a resource without members', async () => {
    const tenant = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, tenant);
    const res = await apiClient(ctx.app, tenant.apiKey).get(`/resources/${resource.id}/enrollment`);
    assert.deepEqual(res.body, { assigned: 0, enrolled: 0, invited: 0, notInvited: 0 });
  });

  it("answers 404 for another tenant's resource and for a malformed id (SEC-20), 401 without a key", async () => {
    const { resource } = await populated();
    const other = await createTenant(ctx.services);
    const api = apiClient(ctx.app, other.apiKey);
    assertApiError(await api.get(`/resources/${resource.id}/enrollment`), 404, 'not_found');
    assertApiError(await api.get('/resources/not-a-uuid/enrollment'), 404, 'not_found');
    assertApiError(await api.get(`/resources/${resource.id}/users?status=enrolled`), 404, 'not_found');
    assert.equal((await request(ctx.app).get(`/api/v1/resources/${resource.id}/enrollment`)).status, 401);
  });

  it('filters the members list by enrolment status, and refuses an unknown status with a 422', async () => {
    const { resource, api } = await populated();
    const loginsOf = async (status: string) => (await api.get(`/resources/${resource.id}/users?status=${status}`)).body.items.map((u: { login: string }) => u.login).sort();
    assert.deepEqual(await loginsOf('enrolled'), ['enrolled-0', 'enrolled-1']);
    assert.deepEqual(await loginsOf('invited'), ['invited-2']);
    assert.deepEqual(await loginsOf('invitation_expired'), ['invitation_expired-3']);
    assert.deepEqual(await loginsOf('not_invited'), ['cancelled-4', 'not_invited-5']);
    const all = await api.get(`/resources/${resource.id}/users`);
    assert.equal(all.body.total, 6);
    const paged = await api.get(`/resources/${resource.id}/users?status=enrolled&perPage=1&page=2`);
    assert.equal(paged.body.total, 2);
    assert.deepEqual(paged.body.items.map((u: { login: string }) => u.login), ['enrolled-1']);
    const bad = await api.get(`/resources/${resource.id}/users?status=nope`);
    assertApiError(bad, 422, 'validation_failed');
    assertApiError(await api.get(`/resources/${resource.id}/users?status=enrolled&status=invited`), 422, 'validation_failed');
  });
});
