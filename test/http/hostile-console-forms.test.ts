/**
 * Every form of the signed-in console, found by reading its pages, gets hostile values in each
 * field (NUL, lone surrogate, control characters, long text, huge or odd numbers, a repeated
 * field): no answer may be 5xx or show a stack trace (finding A: "no route may answer 5xx to bad
 * input"). Destructive forms (delete, revoke, disable, sign-out) are left out so the pages stay.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, unique, type TestTenant } from '../helpers/factories';
import { csrfFrom, signIn, type Agent } from '../helpers/admin-agent';
import { apiClient } from '../helpers/api-client';

const HOSTILE: Record<string, string[]> = {
  nul: ['a\u0000b'],
  loneSurrogate: ['a\uD800b'],
  control: ['a\u0007\u001Bb'],
  long: [randomBytes(9_500).toString('hex')],
  huge: ['99999999999999999999999'],
  float: ['1e400'],
  negative: ['-1'],
  notANumber: ['NaN'],
  repeated: ['a', 'b'],
};

const STACK = /\bat [^\n]*\.(ts|js):\d+|node_modules|Error: /;
const DESTRUCTIVE = /\/(delete|revoke|disable|sign-out)$/;

interface Form { action: string; fields: [string, string][] }

/** The POST forms of a page: action and named fields with their current values. */
function formsOf(html: string): Form[] {
  const forms: Form[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attrs = m[1];
    if (!/method="post"/i.test(attrs) || /multipart/.test(attrs)) continue;
    const action = attrs.match(/action="([^"]+)"/)?.[1];
    if (!action) continue;
    const fields: [string, string][] = [];
    for (const input of m[2].matchAll(/<(input|select|textarea)\b([^>]*)>/g)) {
      const name = input[2].match(/name="([^"]+)"/)?.[1];
      if (!name || name === '_csrf') continue;
      if (/type="(checkbox|radio)"/.test(input[2]) && !/checked/.test(input[2])) continue;
      fields.push([name, input[2].match(/value="([^"]*)"/)?.[1] ?? '']);
    }
    forms.push({ action: action.replace(/&amp;/g, '&'), fields });
  }
  return forms;
}

/** A form body with raw percent-encoding (a lone surrogate as its invalid UTF-8 bytes). */
function encode(fields: [string, string][]): string {
  const enc = (v: string) => v.split(/(?=[\uD800-\uDFFF])|(?<=[\uD800-\uDFFF])/).map((part) => {
    try { return encodeURIComponent(part); } catch { return '%ED%A0%80'; }
  }).join('');
  return fields.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

describe('the console\'s signed-in forms never answer 5xx to hostile fields', () => {
  let ctx: TestContext;
  let tenant: TestTenant;
  let admin: Agent;
  let pages: string[];
  before(async () => {
    ctx = await createTestContext();
    tenant = await createTenant(ctx.services);
    const api = apiClient(ctx.app, tenant.apiKey);
    const resource = (await api.post('/resources', { name: unique('Forms') })).body;
    const user = (await api.post('/users', { login: unique('forms'), email: `${unique('f')}@example.test` })).body;
    await api.put(`/resources/${resource.id}/users/${user.id}`);
    const token = (await api.post('/tokens', { type: 'hotp', userId: user.id })).body;
    await api.put(`/resources/${resource.id}/tokens/${token.id}`);
    admin = await signIn(ctx.app, tenant);
    pages = [
      '/admin/resources/new', `/admin/resources/${resource.id}`, `/admin/resources/${resource.id}/users`,
      `/admin/resources/${resource.id}/self-service`, `/admin/resources/${resource.id}/self-service/actions`, `/admin/resources/${resource.id}/self-service/enrollment`,
      '/admin/users/new', `/admin/users/${user.id}`, '/admin/tokens/new', `/admin/tokens/${token.id}`, '/admin/admins', '/admin/api-keys',
    ];
  });
  after(() => ctx.close());

  it('each field of each form, with each hostile value', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const page of pages) {
      const html = await admin.get(page);
      assert.equal(html.status, 200, `${page}: ${html.status}`);
      const csrf = csrfFrom(html.text);
      const forms = formsOf(html.text).filter((f) => !DESTRUCTIVE.test(f.action));
      assert.ok(forms.length > 0 || page === '/admin/api-keys', `${page} has forms`);
      for (const form of forms) {
        for (const [field] of form.fields) {
          for (const [name, values] of Object.entries(HOSTILE)) {
            const fields: [string, string][] = [['_csrf', csrf], ...form.fields.filter(([f]) => f !== field), ...values.map((v): [string, string] => [field, v])];
            const res: request.Response = await admin.post(form.action).type('form').send(encode(fields));
            sent++;
            if (res.status >= 500 || STACK.test(res.text)) failures.push(`${form.action} ${field}=${name} -> ${res.status} ${res.text.slice(0, 200)}`);
          }
        }
      }
    }
    assert.ok(sent > 100, `only ${sent} requests sent`);
    assert.deepEqual(failures, [], `${failures.length} bad answers:\n${failures.slice(0, 25).join('\n')}`);
  });
});
