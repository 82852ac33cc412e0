/** First sign-in of an admin without TOTP: reads the secret off the enrolment page and confirms it. */
import assert from 'node:assert/strict';
import { authenticator } from 'otplib';
import type { Agent } from './admin-agent';
import { postForm } from './admin-agent';

/** The base32 secret shown on the enrolment page (grouped by 4 for reading; spaces removed here). */
export function secretFrom(html: string): string {
  const match = html.match(/<code class="secret" id="totp-secret">([^<]+)<\/code>/);
  assert.ok(match, 'the enrolment page shows the secret');
  return match[1].replace(/\s+/g, '');
}

/** Password step for an admin who has not enrolled TOTP yet; asserts it leads to enrolment. */
export async function passwordStep(agent: Agent, email: string, password: string): Promise<void> {
  const res = await postForm(agent, '/admin/sign-in', '/admin/sign-in', { email, password });
  assert.equal(res.status, 303);
  assert.match(String(res.headers.location), /^\/admin\/sign-in\/enroll/);
}

/** Enrols with a code computed from the shown secret; returns the secret and the code used. */
export async function enroll(agent: Agent): Promise<{ secret: string; code: string }> {
  const page = await agent.get('/admin/sign-in/enroll');
  assert.equal(page.status, 200);
  const secret = secretFrom(page.text);
  const code = authenticator.generate(secret);
  const res = await postForm(agent, '/admin/sign-in/enroll', '/admin/sign-in/enroll', { code });
  assert.equal(res.status, 303, 'a correct code completes enrolment');
  return { secret, code };
}
