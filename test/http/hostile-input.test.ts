/**
 * Hostile input never answers 5xx (issue "Security and reliability hardening", finding A): every
 * operation of the OpenAPI document, with a valid API key, and the public forms (console sign-in,
 * sign-up, invite, the portal sign-in steps on both URL forms) get NUL bytes, lone surrogates,
 * control characters, 100 kB strings, wrong types, arrays for objects, huge numbers and path
 * params that are not uuids. Each answer must be below 500 and carry no stack trace; the NUL
 * answers name the field.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createTenant, unique, TEST_PASSWORD, type TestTenant } from '../helpers/factories';
import { csrfFrom, signIn, type Agent } from '../helpers/admin-agent';
import { createApiToken, createPortalMember, createPortalWorld, visitor, type PortalWorld } from '../helpers/portal';
import { base32Encode } from '../../src/otp/otp-engine';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const LONG = randomBytes(50_000).toString('hex'); // 100 kB that no index can compress
const HOSTILE_STRINGS: Record<string, string> = {
  nul: 'a\u0000b',
  loneSurrogate: 'a\uD800b',
  lowSurrogate: '\uDC00',
  control: 'a\u0007\u001Bb',
  c1: 'a\u0085b',
  long: LONG,
  // Just under the general cap: what reaches the handlers when a schema has no maximum of its own.
  underCap: LONG.slice(0, 19_000),
};
const HOSTILE_VALUES: Record<string, unknown> = {
  ...HOSTILE_STRINGS,
  huge: 1e308,
  hugeInt: 123456789012345678901234567890,
  negative: -99999999999,
  fraction: 1.5,
  bool: true,
  nullValue: null,
  emptyArray: [],
  arrayOfObject: [{}],
  object: { nested: { deep: 'a\u0000b' } },
  stringArray: ['a', 'a\u0000b'],
};
/** Whole bodies (as sent) that are not the object an operation expects. */
const HOSTILE_BODIES: Record<string, string> = {
  array: '[]',
  arrayOfObject: '[{"login":"x"}]',
  string: '"x"',
  number: '42',
  nullBody: 'null',
  nulKey: '{"a\\u0000":"b"}',
  deepArray: '['.repeat(5000) + ']'.repeat(5000),
  deepObject: '{"a":'.repeat(5000) + '1' + '}'.repeat(5000),
};
const HOSTILE_PATH_PARAMS = ['not-a-uuid', '%00', '%ED%A0%80', '%01', '00000000-0000-0000-0000-00000000000%00', 'x'.repeat(5000), '1e308'];
/** Query values as sent on the wire (percent-encoded). */
const HOSTILE_QUERY = ['%00', 'a%00b', '%ED%A0%80', '%01%1B', 'x'.repeat(8000), '99999999999999999999999', '-1', '1e400', 'NaN'];

const STACK = /\bat [^\n]*\.(ts|js):\d+|node_modules|Error: /;

interface Failure { what: string; status: number; body: string }

function check(failures: Failure[], what: string, res: request.Response): void {
  if (res.status >= 500 || STACK.test(res.text)) failures.push({ what, status: res.status, body: res.text.slice(0, 300) });
}

function report(failures: Failure[]): string {
  return `${failures.length} bad answers:\n${failures.slice(0, 25).map((f) => `  ${f.what} -> ${f.status} ${f.body}`).join('\n')}`;
}

/** A form body: strings percent-encoded, a lone surrogate sent as its (invalid) CESU-8 bytes. */
function formBody(fields: Record<string, string>): string {
  const enc = (v: string) => Array.from(v.split(/(?=[\uD800-\uDFFF])|(?<=[\uD800-\uDFFF])/)).map((part) => {
    try { return encodeURIComponent(part); } catch { return '%ED%A0%80'; }
  }).join('');
  return Object.entries(fields).map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

describe('hostile input never answers 5xx', () => {
  let ctx: TestContext;
  let tenant: TestTenant;
  let doc: Json;
  before(async () => {
    ctx = await createTestContext({ PORTAL_DOMAIN: 'localhost' });
    tenant = await createTenant(ctx.services);
    doc = (await request(ctx.app).get('/api/v1/openapi.json')).body;
  });
  after(() => ctx.close());

  const api = (method: string, path: string) => (request(ctx.app) as any)[method](`/api/v1${path}`).set('Authorization', `Bearer ${tenant.apiKey}`) as request.Test; // eslint-disable-line @typescript-eslint/no-explicit-any

  /** Real objects of the tenant, so requests get past the "not found" of their path. */
  async function freshIds(): Promise<Record<string, string>> {
    const resource = await api('post', '/resources').send({ name: unique('Hostile') });
    const user = await api('post', '/users').send({ login: unique('hostile'), email: `${unique('h')}@example.test` });
    const token = await api('post', '/tokens').send({ type: 'hotp', userId: user.body.id });
    assert.equal(token.status, 201, token.text);
    await api('put', `/resources/${resource.body.id}/users/${user.body.id}`);
    await api('put', `/resources/${resource.body.id}/tokens/${token.body.id}`);
    return { resource: resource.body.id, user: user.body.id, token: token.body.id, login: user.body.login };
  }

  function operations(): { method: string; path: string; op: Json }[] {
    const ops = Object.entries(doc.paths as Json).flatMap(([path, methods]) => Object.entries(methods as Json).map(([method, op]) => ({ method, path, op: op as Json })));
    // Deletions last, so the other operations still find their objects.
    return ops.filter((o) => o.path !== '/openapi.json').sort((a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'));
  }

  function fillPath(path: string, ids: Record<string, string>, override?: string): string {
    return path.replace(/\{(\w+)\}/g, (_m, name: string) => override ?? (name === 'userId' ? ids.user : name === 'tokenId' ? ids.token : path.startsWith('/users') ? ids.user : path.startsWith('/tokens') ? ids.token : ids.resource));
  }

  function bodyFields(op: Json): string[] {
    const ref: string | undefined = op.requestBody?.content?.['application/json']?.schema?.$ref;
    if (!ref) return [];
    const schema = doc.components.schemas[ref.split('/').pop()!];
    const props = new Set<string>(Object.keys(schema.properties ?? {}));
    for (const branch of [...(schema.oneOf ?? []), ...(schema.anyOf ?? [])]) for (const k of Object.keys(branch.properties ?? {})) props.add(k);
    return [...props];
  }

  /** A body that passes validation, so one hostile field is the only thing wrong. */
  function validBase(operationId: string, ids: Record<string, string>): Json {
    switch (operationId) {
      case 'createResource': return { name: unique('R') };
      case 'createUser': return { login: unique('u') };
      case 'createToken': return { type: 'totp', userId: ids.user };
      case 'authenticate': return { login: ids.login, otp: '123456' };
      case 'requestChallenge': return { login: ids.login };
      case 'setTokenPin': return { pin: '1234' };
      case 'resyncToken': return { otp1: '123456', otp2: '654321' };
      case 'verifyToken': return { otp: '123456' };
      case 'putSelfService': return { address: unique('a').toLowerCase(), allowedActions: [], enrollmentTokenTypes: [] };
      default: return {};
    }
  }

  it('every API operation, with a valid key, answers hostile bodies, fields, query strings and path params below 500', async () => {
    const failures: Failure[] = [];
    const ids = await freshIds();
    for (const { method, path, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      for (const raw of HOSTILE_PATH_PARAMS) {
        if (!path.includes('{')) break;
        check(failures, `${where} path=${raw.slice(0, 40)}`, await api(method, fillPath(path, ids, raw)).send({}));
      }
      for (const param of (op.parameters ?? []).filter((p: Json) => p.in === 'query')) {
        for (const raw of HOSTILE_QUERY) {
          check(failures, `${where} ?${param.name}=${raw.slice(0, 40)}`, await api(method, `${fillPath(path, ids)}?${param.name}=${raw}`));
        }
        check(failures, `${where} ?${param.name} repeated`, await api(method, `${fillPath(path, ids)}?${param.name}=a&${param.name}=b&${param.name}[x]=c`));
      }
      if (!op.requestBody) continue;
      // A multipart operation (token imports): each form field but the file gets each hostile string, beside a valid file.
      const form = op.requestBody.content?.['multipart/form-data']?.schema?.properties as Json | undefined;
      for (const field of Object.keys(form ?? {}).filter((f) => f !== 'file')) {
        for (const [name, value] of Object.entries(HOSTILE_STRINGS)) {
          const res = await api(method, fillPath(path, ids)).field(field, value).attach('file', Buffer.from('serial,secret,type,digits,period\n'), 'hostile.csv');
          check(failures, `${where} form ${field}=${name}`, res);
          if (name === 'nul' && res.status < 500 && !res.text.includes(field)) failures.push({ what: `${where} form ${field}=nul does not name the field`, status: res.status, body: res.text.slice(0, 300) });
        }
      }
      for (const [name, body] of Object.entries(HOSTILE_BODIES)) {
        check(failures, `${where} body=${name}`, await api(method, fillPath(path, ids)).set('Content-Type', 'application/json').send(body));
      }
      for (const field of bodyFields(op)) {
        for (const [name, value] of Object.entries(HOSTILE_VALUES)) {
          const body = { ...validBase(op.operationId, ids), [field]: value };
          const res = await api(method, fillPath(path, ids)).send(body);
          check(failures, `${where} ${field}=${name}`, res);
          if (name === 'nul' && res.status < 500 && res.status !== 404 && !res.text.includes(field)) failures.push({ what: `${where} ${field}=nul does not name the field`, status: res.status, body: res.text.slice(0, 300) });
        }
      }
    }
    assert.deepEqual(failures, [], report(failures));
  });

  it('a NUL in the validation route answers 400 with the API error body naming the field', async () => {
    const ids = await freshIds();
    const res = await api('post', `/resources/${ids.resource}/authenticate`).send({ login: 'a\u0000b', otp: '123456' });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error.code, 'bad_request');
    assert.match(res.body.error.message, /"login"/);
    const query = await api('get', '/users?q=a%00b');
    assert.equal(query.status, 400, query.text);
    assert.match(query.body.error.message, /"q"/);
  });

  it('a 1 MB login answers 413 on the validation route and on the console and portal sign-in forms', async () => {
    const ids = await freshIds();
    const huge = 'x'.repeat(1_000_000);
    const res = await api('post', `/resources/${ids.resource}/authenticate`).send({ login: huge, otp: '123456' });
    assert.equal(res.status, 413, res.text);
    assert.equal(res.body.error.code, 'too_large');
    const w = await createPortalWorld(ctx);
    for (const [page, action] of [['/admin/sign-in', '/admin/sign-in'], [w.portal.base, `${w.portal.base}sign-in`]]) {
      const form = await postHostile(request.agent(ctx.app), page, action, { login: huge, email: huge, password: 'x' });
      assert.equal(form.status, 413, `${action}: ${form.text.slice(0, 200)}`);
      assert.match(form.text, /too large/);
    }
  });

  /** Posts `fields` (hostile) to a form after fetching its page for the CSRF token. */
  async function postHostile(agent: Agent, page: string, action: string, fields: Record<string, string>, host?: string): Promise<request.Response> {
    const get = agent.get(page);
    if (host) get.set('Host', host);
    const page_ = await get;
    assert.ok(page_.status < 500 && /name="_csrf"|data-token=/.test(page_.text), `GET ${page} ${host ?? ''}: ${page_.status} ${page_.text.slice(0, 300)}`);
    const csrf = csrfFrom(page_.text);
    const post = agent.post(action).type('form');
    if (host) post.set('Host', host);
    return post.send(formBody({ _csrf: csrf, ...fields }));
  }

  const FORM_VALUES: Record<string, string> = { ...HOSTILE_STRINGS, long: LONG.slice(0, 60_000) };

  it('the console\'s public forms (sign-in, TOTP step, sign-up, invite) and a signed-in form answer hostile fields below 500', async () => {
    const failures: Failure[] = [];
    for (const [name, value] of Object.entries(FORM_VALUES)) {
      // An admin of its own for each value, so the sign-in limits and the lock of one value's
      // attempts never stop the next value from reaching the handlers.
      const who = await addAdmin(ctx.services, tenant, 'admin');
      for (const field of ['email', 'password', 'next']) {
        const fields = { email: who.email, password: TEST_PASSWORD, [field]: value };
        check(failures, `/admin/sign-in ${field}=${name}`, await postHostile(request.agent(ctx.app), '/admin/sign-in', '/admin/sign-in', fields));
      }
      const partial = request.agent(ctx.app);
      await postHostile(partial, '/admin/sign-in', '/admin/sign-in', { email: who.email, password: TEST_PASSWORD });
      check(failures, `/admin/sign-in/totp code=${name}`, await postHostile(partial, '/admin/sign-in/totp', '/admin/sign-in/totp', { code: value }));
      check(failures, `GET /admin/sign-in?next=${name}`, await request(ctx.app).get(`/admin/sign-in?next=${formBody({ x: value }).slice(2)}`));
      for (const field of ['organisation', 'email', 'password']) {
        const fields = { organisation: unique('Org'), email: `${unique('s')}@example.test`, password: TEST_PASSWORD, [field]: value };
        check(failures, `/signup ${field}=${name}`, await postHostile(request.agent(ctx.app), '/signup', '/signup', fields));
      }
      for (const field of ['name', 'password']) {
        const invited = await ctx.services.admins.invite(tenant.actor, { email: `${unique('inv')}@example.test`, role: 'admin' });
        const message = await ctx.services.db('messages').where({ tenant_id: tenant.tenantId, recipient: invited.email }).first();
        const link = String(message.body_text).match(/\/admin\/invite\/[\w-]+/)![0];
        const fields = { name: 'Ida', password: TEST_PASSWORD, [field]: value };
        check(failures, `invite ${field}=${name}`, await postHostile(request.agent(ctx.app), link, link, fields));
      }
    }
    const admin = await signIn(ctx.app, tenant);
    for (const [name, value] of Object.entries(FORM_VALUES)) {
      check(failures, `POST /admin/users login=${name}`, await postHostile(admin, '/admin/users/new', '/admin/users', { login: value }));
      check(failures, `GET /admin/users?q=${name}`, await admin.get(`/admin/users?q=${formBody({ x: value }).slice(2)}`));
    }
    assert.deepEqual(failures, [], report(failures));
  });

  it('a NUL in a console or portal form answers 400 with a page naming the field', async () => {
    const res = await postHostile(request.agent(ctx.app), '/admin/sign-in', '/admin/sign-in', { email: 'a\u0000b@example.test', password: 'x' });
    assert.equal(res.status, 400, res.text.slice(0, 300));
    assert.match(res.headers['content-type'], /text\/html/);
    assert.match(res.text, /&quot;email&quot;|"email"/);
    assert.match(res.text, /Back to the console/);
    // On a portal (either URL form) the same refusal names the field and does not point to the console.
    const w = await createPortalWorld(ctx);
    for (const [base, host] of [[w.portal.base, undefined], ['/', `${w.portal.address}.localhost`]] as const) {
      const portal = await postHostile(visitor(ctx.app), base, `${base}sign-in`, { login: 'a\u0000b' }, host);
      assert.equal(portal.status, 400, portal.text.slice(0, 300));
      assert.match(portal.text, /&quot;login&quot; contains a NUL byte|"login" contains a NUL byte/);
      assert.doesNotMatch(portal.text, /Back to the console/);
    }
  });

  it('the portal sign-in steps answer hostile fields below 500, on /portal/{address}/ and on {address}.localhost', async () => {
    const failures: Failure[] = [];
    for (const form of ['path', 'host'] as const) {
      for (const [name, value] of Object.entries(FORM_VALUES)) {
        // A fresh portal and member each time: the sign-in rate limits and locks stay out of the way.
        const w: PortalWorld = await createPortalWorld(ctx);
        const user = await createPortalMember(ctx, w, { password: 'a long portal passphrase' });
        await createApiToken(w, { type: 'hotp', userId: user.id, secret: base32Encode(randomBytes(20)), counter: 0 }, w.portal.resource.id);
        const [base, host] = form === 'path' ? [w.portal.base, undefined] : ['/', `${w.portal.address}.localhost`];
        check(failures, `${form} sign-in login=${name}`, await postHostile(visitor(ctx.app), base, `${base}sign-in`, { login: value }, host));
        const atVerify = visitor(ctx.app);
        await postHostile(atVerify, base, `${base}sign-in`, { login: user.login }, host);
        check(failures, `${form} verify secret=${name}`, await postHostile(atVerify, `${base}sign-in/verify`, `${base}sign-in/verify`, { secret: value }, host));
        const atFactor = visitor(ctx.app);
        await postHostile(atFactor, base, `${base}sign-in`, { login: user.login }, host);
        await postHostile(atFactor, `${base}sign-in/verify`, `${base}sign-in/verify`, { secret: 'a long portal passphrase' }, host);
        check(failures, `${form} second factor code=${name}`, await postHostile(atFactor, `${base}sign-in/second-factor`, `${base}sign-in/second-factor`, { code: value }, host));
        const get = visitor(ctx.app).get(`${base}step-up?next=${formBody({ x: value }).slice(2)}`);
        if (host) get.set('Host', host);
        check(failures, `${form} GET ?next=${name}`, await get);
      }
    }
    assert.deepEqual(failures, [], report(failures));
  });
});
