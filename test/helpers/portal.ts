/** Portal test helpers: an active portal for a resource, and a visitor walking its sign-in steps. */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Express } from 'express';
import type { Services } from '../../src/services';
import { createResource, createTenant, createUser, unique, type TestTenant } from './factories';
import { postForm, type Agent } from './admin-agent';
import { apiClient } from './api-client';
import type { TestContext } from './context';
import { tokensForCheck } from '../../src/tokens/token.repository';

export interface TestPortal {
  resource: Awaited<ReturnType<Services['resources']['create']>>;
  address: string;
  /** `/portal/{address}/` */
  base: string;
}

/** A resource with an active portal (address, allowed actions, enrollment types). */
export async function createPortal(
  services: Services,
  tenant: TestTenant,
  options: { resource?: Record<string, unknown>; allowedActions?: string[]; enrollmentTokenTypes?: string[] } = {},
): Promise<TestPortal> {
  const resource = await createResource(services, tenant, options.resource);
  const address = unique('portal').toLowerCase();
  await services.selfService.update(tenant.actor, resource.id, { address, allowedActions: options.allowedActions ?? [], enrollmentTokenTypes: options.enrollmentTokenTypes ?? [] });
  return { resource, address, base: `/portal/${address}/` };
}

/** A tenant (new unless given) with one active portal, and an API client of that tenant. */
export interface PortalWorld {
  tenant: TestTenant;
  portal: TestPortal;
  api: ReturnType<typeof apiClient>;
}

export async function createPortalWorld(ctx: TestContext, options: Parameters<typeof createPortal>[2] = {}, tenant?: TestTenant): Promise<PortalWorld> {
  const t = tenant ?? (await createTenant(ctx.services));
  return { tenant: t, portal: await createPortal(ctx.services, t, options), api: apiClient(ctx.app, t.apiKey) };
}

/** A user of the world's tenant, assigned to `resourceId` (the portal's resource by default; null: none). */
export async function createPortalMember(ctx: TestContext, w: PortalWorld, input: Record<string, unknown> = {}, resourceId: string | null = w.portal.resource.id) {
  const user = await createUser(ctx.services, w.tenant, input);
  if (resourceId) await ctx.services.users.assign(w.tenant.actor, resourceId, user.id);
  return user;
}

/** A token made through the API, assigned to `resourceId` when given; answers the API's token body. */
export async function createApiToken(w: PortalWorld, body: Record<string, unknown>, resourceId?: string) {
  const created = await w.api.post('/tokens', body);
  assert.equal(created.status, 201, created.text);
  if (resourceId) {
    const assigned = await w.api.put(`/resources/${resourceId}/tokens/${created.body.id}`);
    assert.equal(assigned.status, 204, assigned.text);
  }
  return created.body as { id: string; serial: string; type: string; otpauthUri?: string };
}

/** A 6-digit code that is none of `taken` (a "wrong code" can never be right by chance). */
export function codeOtherThan(...taken: string[]): string {
  const used = new Set(taken);
  for (let n = 13579; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!used.has(code)) return code;
  }
}

export function visitor(app: Express): Agent {
  return request.agent(app);
}

/** Step 1: types the login; answers the response (303 to the verify page whatever the login). */
export function enterLogin(agent: Agent, portal: TestPortal, login: string) {
  return postForm(agent, portal.base, `${portal.base}sign-in`, { login });
}

/** Step 2: password or emailed code. */
export function enterSecret(agent: Agent, portal: TestPortal, secret: string) {
  return postForm(agent, `${portal.base}sign-in/verify`, `${portal.base}sign-in/verify`, { secret });
}

/** Step 3: a code from a token. */
export function enterSecondFactor(agent: Agent, portal: TestPortal, code: string) {
  return postForm(agent, `${portal.base}sign-in/second-factor`, `${portal.base}sign-in/second-factor`, { code });
}

/** The 6-digit code of the newest sign-in email to `recipient` in the Outbox. */
export async function lastEmailedCode(services: Services, tenantId: string, recipient: string): Promise<string | undefined> {
  const message = await services.db('messages').where({ tenant_id: tenantId, recipient }).orderBy('created_at', 'desc').first();
  return message?.body_text.match(/\b(\d{6})\b/)?.[1];
}

/** The raw value of cookie `name` in a response's Set-Cookie headers (URL-encoded, as sent), or undefined. */
export function setCookieValue(res: { headers: Record<string, unknown> }, name: string): string | undefined {
  const raw = res.headers['set-cookie'];
  const lines = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
  const line = lines.find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

/** The whole Set-Cookie line of cookie `name` (value and attributes), or undefined. */
export function setCookieLine(res: { headers: Record<string, unknown> }, name: string): string | undefined {
  const raw = res.headers['set-cookie'];
  const lines = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
  return lines.find((l) => l.startsWith(`${name}=`));
}

/** The session id inside an express-session cookie value (`s:<sid>.<signature>`, URL-encoded). */
export function sessionIdOf(cookieValue: string): string {
  const decoded = decodeURIComponent(cookieValue);
  if (!decoded.startsWith('s:')) throw new Error(`not a signed session cookie: ${cookieValue}`);
  return decoded.slice(2, decoded.lastIndexOf('.'));
}

/** A 303 to exactly `location`. */
export function assertRedirect(res: request.Response, location: string, what = 'redirect'): void {
  assert.equal(res.status, 303, `${what}: ${res.status} ${res.text.slice(0, 400)}`);
  assert.equal(res.headers.location, location, what);
}

/** The text of the page's error flash or error summary title (role="alert"), if any. */
export function alertOf(html: string): string | undefined {
  return html.match(/role="alert">(?:<h2[^>]*>)?([^<]*)</)?.[1];
}

/** The inline message of a form field (the _field partial's error paragraph). */
export function fieldError(html: string, name: string): string | undefined {
  return html.match(new RegExp(`id="f-${name}-error">([^<]*)<`))?.[1];
}

/**
 * Where a password-only sign-in lands (issue 12 §3): Enroll Token for a user with no enabled token
 * in the resource when the portal offers it, else the dashboard.
 */
export async function landingAfterPassword(services: Services, portal: TestPortal, tenantId: string, login: string): Promise<string> {
  const config = await services.selfService.get({ tenantId }, portal.resource.id);
  const user = await services.db('users').where({ tenant_id: tenantId }).whereRaw('lower(login) = lower(?)', [login]).first();
  const hasTokens = (await tokensForCheck(services.db, tenantId, portal.resource.id, user.id)).length > 0;
  return !hasTokens && config.allowedActions.includes('enroll_token') && config.enrollmentTokenTypes.length > 0 ? `${portal.base}actions/enroll_token` : portal.base;
}
