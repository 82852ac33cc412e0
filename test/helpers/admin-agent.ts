/** A supertest agent signed in to the console (password + TOTP), with CSRF handling for forms. */
import request from 'supertest';
import { authenticator } from 'otplib';
import type { Express } from 'express';
import type { TestTenant } from './factories';

export type Agent = ReturnType<typeof request.agent>;

export function csrfFrom(html: string): string {
  const match = html.match(/name="_csrf" value="([^"]+)"/) ?? html.match(/data-token="([^"]+)"/);
  if (!match) throw new Error('no CSRF token in page');
  return match[1];
}

/** GETs `path` and returns the CSRF token of the page (for a following POST). */
export async function csrfOf(agent: Agent, path: string): Promise<string> {
  const res = await agent.get(path);
  return csrfFrom(res.text);
}

/** POSTs a form with the page's CSRF token. */
export async function postForm(agent: Agent, formPage: string, action: string, fields: Record<string, string>) {
  const token = await csrfOf(agent, formPage);
  return agent.post(action).type('form').send({ _csrf: token, ...fields });
}

/** Signs in with password, then a TOTP code computed for the current step. */
export async function signIn(app: Express, tenant: TestTenant): Promise<Agent> {
  const agent = request.agent(app);
  const first = await postForm(agent, '/admin/sign-in', '/admin/sign-in', { email: tenant.email, password: tenant.password });
  if (first.status !== 303 || !String(first.headers.location).startsWith('/admin/sign-in/totp')) {
    throw new Error(`password step failed: ${first.status} ${first.headers.location ?? ''}`);
  }
  const code = authenticator.generate(tenant.totpSecret);
  const second = await postForm(agent, '/admin/sign-in/totp', '/admin/sign-in/totp', { code });
  if (second.status !== 303) throw new Error(`TOTP step failed: ${second.status}`);
  return agent;
}
