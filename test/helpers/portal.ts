/** Portal test helpers: an active portal for a resource, and a visitor walking its sign-in steps. */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Express } from 'express';
import type { Services } from '../../src/services';
import { createResource, unique, type TestTenant } from './factories';
import { postForm, type Agent } from './admin-agent';

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

/** The text of the page's error flash (role="alert"), if any. */
export function alertOf(html: string): string | undefined {
  return html.match(/role="alert">([^<]*)</)?.[1];
}

/** The inline message of a form field (the _field partial's error paragraph). */
export function fieldError(html: string, name: string): string | undefined {
  return html.match(new RegExp(`id="f-${name}-error">([^<]*)<`))?.[1];
}
