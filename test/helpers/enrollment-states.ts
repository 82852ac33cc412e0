/**
 * Puts resource members in each enrolment state. Invitation rows are written directly: the
 * invitation service is built elsewhere, and these tests only need the states it leaves behind.
 */
import type { Services } from '../../src/services';
import { createUser, type TestTenant } from './factories';

export type MemberState = 'enrolled' | 'invited' | 'invitation_expired' | 'not_invited' | 'cancelled' | 'disabled_token' | 'pending_enrolment' | 'token_elsewhere' | 'enrolled_and_invited';

const DAY = 86_400_000;

export async function invite(s: Services, tenant: TestTenant, resourceId: string, userId: string, expiresInDays: number, cancelled = false): Promise<void> {
  const now = Date.now();
  await s.db('enrollment_invitations').insert({
    tenant_id: tenant.tenantId, resource_id: resourceId, user_id: userId,
    last_sent_at: new Date(now - DAY), expires_at: new Date(now + expiresInDays * DAY), cancelled_at: cancelled ? new Date(now) : null,
  });
}

async function tokenIn(s: Services, tenant: TestTenant, resourceId: string, userId: string) {
  const { token } = await s.tokens.create(tenant.actor, { type: 'totp', userId });
  await s.tokens.assignToResource(tenant.actor, resourceId, token.id);
  return token;
}

/** A new user assigned to the resource, in `state`; returns the user. */
export async function memberIn(s: Services, tenant: TestTenant, resourceId: string, state: MemberState, input: Record<string, unknown> = {}) {
  const user = await createUser(s, tenant, input);
  await s.users.assign(tenant.actor, resourceId, user.id);
  switch (state) {
    case 'enrolled':
      await tokenIn(s, tenant, resourceId, user.id);
      break;
    case 'enrolled_and_invited':
      await invite(s, tenant, resourceId, user.id, 30);
      await tokenIn(s, tenant, resourceId, user.id);
      break;
    case 'invited':
      await invite(s, tenant, resourceId, user.id, 30);
      break;
    case 'invitation_expired':
      await invite(s, tenant, resourceId, user.id, -1);
      break;
    case 'cancelled':
      await invite(s, tenant, resourceId, user.id, 30, true);
      break;
    case 'disabled_token': {
      const token = await tokenIn(s, tenant, resourceId, user.id);
      await s.db('tokens').where({ id: token.id }).update({ enabled: false });
      break;
    }
    case 'pending_enrolment': {
      // What the portal leaves while an enrolment waits for its first code: a disabled token, marked pending.
      const token = await tokenIn(s, tenant, resourceId, user.id);
      await s.db('tokens').where({ id: token.id }).update({ enabled: false });
      await s.db('portal_enrollments').insert({ token_id: token.id, tenant_id: tenant.tenantId, resource_id: resourceId, user_id: user.id, type: 'totp' });
      break;
    }
    case 'token_elsewhere': {
      // An active token, but assigned to another resource only.
      await s.tokens.create(tenant.actor, { type: 'totp', userId: user.id });
      break;
    }
    case 'not_invited':
      break;
  }
  return user;
}
