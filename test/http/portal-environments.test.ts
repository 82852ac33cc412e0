/**
 * Trusted environments through HTTP (SPEC §2 "Trusted environment", §5.3 Manage User
 * Environment, §5.4 intelligent identification; SEC-14, SEC-15, SEC-17, SEC-23): the device
 * cookie, "Trust this browser" after a sign-in with the second factor, skipping the second factor
 * from a trusted browser when the resource allows it, the manage page (list, rename, remove), the
 * new-browser email, and the two resource settings in the console and the API.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createTestContext, type TestContext } from '../helpers/context';
import { createTenant, unique } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { postForm, signIn as adminSignIn, type Agent } from '../helpers/admin-agent';
import { createApiToken, createPortalMember, createPortalWorld, enterLogin, enterSecondFactor, enterSecret, sessionIdOf, setCookieLine, setCookieValue, visitor, type PortalWorld } from '../helpers/portal';
import { base32Encode, generateHotp } from '../../src/otp/otp-engine';
import { createDeviceCookie } from '../../src/environments/device-cookie';

const PASSWORD = 'a long portal passphrase';
const SID = 'mfa.portal.sid';
const DEVICE = 'mfa.portal.device';
const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0';
const PROMPT = 'Trust this browser?';
const DISABLED = /Your administrator has not enabled this action in this portal\./;

/** RFC 4226 App. D seed: each code of the imported HOTP token works once, in order. */
const SEED = Buffer.from('3132333435363738393031323334353637383930', 'hex');
const hotp = (counter: number) => generateHotp(SEED, counter, { algorithm: 'SHA1', digits: 6 });

interface CookieJarLike {
  getCookies(access: unknown): Array<{ name: string; value: string; path: string }>;
  setCookie(cookie: string, domain: string, path: string): void;
}
const jarOf = (agent: Agent) => (agent as unknown as { jar: CookieJarLike }).jar;
/** supertest talks to 127.0.0.1; the jar answers only cookies whose domain and path match. */
async function cookieJarAccess(path: string) {
  const { CookieAccessInfo } = (await import('cookiejar')).default as unknown as { CookieAccessInfo: new (domain: string, path: string, secure: boolean, script: boolean) => unknown };
  return new CookieAccessInfo('127.0.0.1', path, false, false);
}
async function deviceCookieOf(agent: Agent, base: string): Promise<string | undefined> {
  return jarOf(agent).getCookies(await cookieJarAccess(base)).find((c) => c.name === DEVICE)?.value;
}
function putDeviceCookie(agent: Agent, base: string, value: string): void {
  jarOf(agent).setCookie(`${DEVICE}=${value}; Path=${base}`, '127.0.0.1', base);
}

describe('trusted environments (SPEC §5.3, §5.4)', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  type World = PortalWorld;
  const world = (options: { resource?: Record<string, unknown>; allowedActions?: string[] } = {}) =>
    createPortalWorld(ctx, { allowedActions: ['manage_environment'], ...options });

  /** An assigned password user with an email; with `token`, also an HOTP token whose codes `next()` hands out in order. */
  async function member(w: World, token = true) {
    const email = `${unique('env')}@example.test`;
    const user = await createPortalMember(ctx, w, { password: PASSWORD, email });
    if (token) await createApiToken(w, { userId: user.id, type: 'hotp', secret: base32Encode(SEED), counter: 0 }, w.portal.resource.id);
    let counter = 0;
    return { ...user, email, next: () => hotp(counter++) };
  }
  type Member = Awaited<ReturnType<typeof member>>;

  function browser(userAgent = CHROME_LINUX): Agent {
    return visitor(ctx.app).set('User-Agent', userAgent) as unknown as Agent;
  }

  /** Login and password; answers the password step's response. */
  async function password(agent: Agent, w: World, m: Member) {
    const login = await enterLogin(agent, w.portal, m.login);
    assert.equal(login.status, 303, 'login step');
    return enterSecret(agent, w.portal, PASSWORD);
  }

  /** A full sign-in with password and HOTP code; answers the second step's response. */
  async function signInWith2fa(agent: Agent, w: World, m: Member) {
    const first = await password(agent, w, m);
    assert.equal(first.headers.location, `${w.portal.base}sign-in/second-factor`, 'a second factor is due');
    const second = await enterSecondFactor(agent, w.portal, m.next());
    assert.equal(second.status, 303, second.text.slice(0, 300));
    assert.equal(second.headers.location, w.portal.base);
    return second;
  }

  const signOut = (agent: Agent, w: World) => postForm(agent, w.portal.base, `${w.portal.base}sign-out`, {});
  const manage = (w: World) => `${w.portal.base}actions/manage_environment`;
  const trust = (agent: Agent, w: World, label = 'My laptop') => postForm(agent, w.portal.base, `${manage(w)}/trust`, { label });
  const environments = (userId: string) => ctx.services.db('user_environments').where({ user_id: userId }).orderBy('first_seen_at');
  const auditOf = (w: World, action: string) => ctx.services.db('audit_events').where({ tenant_id: w.tenant.tenantId, action }).orderBy('id');
  const sessionRow = (res: { headers: Record<string, unknown> }) => ctx.services.db('sessions').where({ sid: sessionIdOf(setCookieValue(res, SID)!) }).first();
  const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
  /** Each sign-in counts against the per-login limit (12 hits in 10 minutes); tests with many sign-ins start it over. */
  const resetLoginLimit = (w: World, m: Member) => ctx.services.db('rate_limits').where({ key: sha256(`portal-login:${w.portal.resource.id}:${m.login.toLowerCase()}`) }).delete();

  /** Signs in with the second factor and trusts the browser; answers the trusted row. */
  async function trusted(agent: Agent, w: World, m: Member, label = 'My laptop') {
    await signInWith2fa(agent, w, m);
    const res = await trust(agent, w, label);
    assert.equal(res.status, 303, res.text.slice(0, 400));
    assert.equal(res.headers.location, manage(w));
    const rows = (await environments(m.id)).filter((e) => e.trusted_at);
    assert.equal(rows.length, 1);
    return rows[0];
  }

  describe('device cookie and trusting a browser', () => {
    it('a sign-in sets a signed, HttpOnly, Lax device cookie on the portal path; the server keeps only its hash', async () => {
      const w = await world();
      const m = await member(w);
      const agent = browser();
      const res = await signInWith2fa(agent, w, m);
      const line = setCookieLine(res, DEVICE);
      assert.ok(line, 'device cookie set at sign-in');
      assert.match(line, /; HttpOnly/i);
      assert.match(line, /; SameSite=Lax/i);
      assert.ok(line.includes(`; Path=${w.portal.base}`), line);
      assert.match(line, /; Max-Age=15552000/, '180 days');
      assert.doesNotMatch(line, /; Secure/i, 'not Secure outside production');
      const value = decodeURIComponent(setCookieValue(res, DEVICE)!);
      const [id, mac] = value.split('.');
      assert.equal(Buffer.from(id, 'base64url').length, 32, '256-bit device id');
      assert.ok(mac, 'signed');
      const [row] = await environments(m.id);
      assert.equal(row.device_hash, sha256(id));
      assert.equal(row.user_agent_summary, 'Chrome on Linux');
      assert.equal(row.trusted_at, null, 'seen, not trusted');
      assert.ok(!JSON.stringify(row).includes(id), 'the id itself is not stored');
    });

    it('after a sign-in with the second factor the dashboard offers to trust the browser; trusting lists it as this browser and is audited', async () => {
      const w = await world();
      const m = await member(w);
      const agent = browser();
      await signInWith2fa(agent, w, m);
      const dashboard = await agent.get(w.portal.base);
      assert.equal(dashboard.status, 200);
      assert.ok(dashboard.text.includes(PROMPT), 'prompt shown');
      assert.ok(dashboard.text.includes(`action="${manage(w)}/trust"`));
      assert.ok(dashboard.text.includes('value="Chrome on Linux"'), 'label suggested from the browser');

      const row = await trusted(agent, w, m, 'My laptop');
      assert.equal(row.label, 'My laptop');
      const page = await agent.get(manage(w));
      assert.equal(page.status, 200);
      assert.match(page.text, /This browser is now trusted as &quot;My laptop&quot;\./);
      assert.match(page.text, /<strong>My laptop<\/strong>\s*<span class="badge">This browser<\/span>/);
      assert.ok(page.text.includes('Chrome on Linux'));
      assert.ok(page.text.includes(row.last_ip), 'last IP shown');
      assert.ok(!(await agent.get(w.portal.base)).text.includes(PROMPT), 'not offered again once trusted');
      const audit = await auditOf(w, 'portal.environment.trust');
      assert.equal(audit.length, 1);
      assert.equal(audit[0].actor_id, m.id);
      assert.equal(audit[0].target_id, row.id);
      assert.equal(audit[0].details.label, 'My laptop');
    });

    it('a password-only sign-in (no token) is never offered trust, and cannot trust by hand', async () => {
      const w = await world();
      const m = await member(w, false);
      const agent = browser();
      assert.equal((await password(agent, w, m)).headers.location, w.portal.base);
      assert.ok(!(await agent.get(w.portal.base)).text.includes(PROMPT));
      const res = await trust(agent, w);
      assert.equal(res.status, 403);
      assert.equal((await environments(m.id)).filter((e) => e.trusted_at).length, 0);
    });
  });

  describe('intelligent identification (§5.4)', () => {
    it('with the setting on, a trusted browser skips the second factor (audited, no second-factor time); a fresh browser does not', async () => {
      const w = await world({ resource: { trustedEnvironmentSkipsSecondFactor: true } });
      const m = await member(w);
      const agent = browser();
      const row = await trusted(agent, w, m);
      await signOut(agent, w);

      const again = await password(agent, w, m);
      assert.equal(again.status, 303);
      assert.equal(again.headers.location, w.portal.base, 'straight to the dashboard');
      const state = (await sessionRow(again)).data.portal;
      assert.equal(state.stage, 'signed_in');
      assert.equal(state.userId, m.id);
      assert.equal(state.secondFactorAt, undefined, 'sensitive actions still need a step-up');
      const dashboard = await agent.get(w.portal.base);
      assert.ok(dashboard.text.includes('id="tokens-h"'));
      assert.ok(!dashboard.text.includes(PROMPT), 'never offered in a session that skipped the second factor');
      assert.equal((await trust(agent, w, 'Again')).status, 403, 'nor accepted by hand');
      const audit = (await auditOf(w, 'portal.sign_in')).filter((a) => a.details.via === 'trusted_environment');
      assert.equal(audit.length, 1);
      assert.equal(audit[0].target_id, m.id);
      assert.equal(audit[0].details.environment, row.id);

      const fresh = browser();
      assert.equal((await password(fresh, w, m)).headers.location, `${w.portal.base}sign-in/second-factor`, 'a fresh browser needs the second factor');
    });

    it('with the setting off a trusted browser still needs the second factor; turning it on makes the same browser skip it', async () => {
      const w = await world();
      const m = await member(w);
      const agent = browser();
      await trusted(agent, w, m);
      await signOut(agent, w);
      assert.equal((await password(agent, w, m)).headers.location, `${w.portal.base}sign-in/second-factor`, 'setting off: never skipped');
      assert.equal((await enterSecondFactor(agent, w.portal, m.next())).headers.location, w.portal.base);
      await signOut(agent, w);
      assert.equal((await w.api.patch(`/resources/${w.portal.resource.id}`, { trustedEnvironmentSkipsSecondFactor: true })).status, 200);
      assert.equal((await password(agent, w, m)).headers.location, w.portal.base, 'setting on: skipped');
    });

    it('a tampered, forged or other-portal device cookie is ignored; the genuine one still works', async () => {
      const w = await world({ resource: { trustedEnvironmentSkipsSecondFactor: true } });
      const m = await member(w);
      const agent = browser();
      await trusted(agent, w, m);
      await signOut(agent, w);
      const genuine = (await deviceCookieOf(agent, w.portal.base))!;
      const [id, mac] = decodeURIComponent(genuine).split('.');
      const flipped = mac.slice(0, -2) + (mac.at(-2) === 'A' ? 'B' : 'A') + mac.at(-1);
      const other = createDeviceCookie('some other secret', false);
      const forgedValue = (cookie: ReturnType<typeof createDeviceCookie>, resourceId: string) => {
        let value = '';
        cookie.write({ cookie: (_n: string, v: string) => (value = v) } as never, w.portal.base, resourceId, id);
        return value;
      };
      const mine = createDeviceCookie(ctx.config.sessionSecret, false);
      const candidates: [string, string][] = [
        ['tampered signature', `${id}.${flipped}`],
        ['no signature', id],
        ['signed with another key', forgedValue(other, w.portal.resource.id)],
        ['signed for another portal', forgedValue(mine, '00000000-0000-4000-8000-000000000000')],
        ['garbage', 'x.y.z'],
      ];
      for (const [what, value] of candidates) {
        await resetLoginLimit(w, m);
        const fresh = browser();
        putDeviceCookie(fresh, w.portal.base, value);
        assert.equal(await deviceCookieOf(fresh, w.portal.base), value, `${what}: cookie planted`);
        const res = await password(fresh, w, m);
        assert.equal(res.status, 303, `${what}: ${res.status} ${res.text.slice(0, 2000)}`);
        assert.equal(res.headers.location, `${w.portal.base}sign-in/second-factor`, `${what}: ignored`);
      }
      const control = browser();
      putDeviceCookie(control, w.portal.base, genuine);
      assert.equal((await password(control, w, m)).headers.location, w.portal.base, 'the genuine cookie skips');
      assert.equal((await environments(m.id)).filter((e) => e.trusted_at).length, 1, 'nothing else became trusted');
    });

    it('a removed browser no longer skips the second factor', async () => {
      const w = await world({ resource: { trustedEnvironmentSkipsSecondFactor: true } });
      const m = await member(w);
      const agent = browser();
      const row = await trusted(agent, w, m);
      const confirm = await agent.get(`${manage(w)}/${row.id}/remove`);
      assert.equal(confirm.status, 200);
      assert.match(confirm.text, /Remove "My laptop"\?/);
      assert.ok(confirm.text.includes(`action="${manage(w)}/${row.id}/remove"`));
      const removed = await postForm(agent, `${manage(w)}/${row.id}/remove`, `${manage(w)}/${row.id}/remove`, {});
      assert.equal(removed.status, 303);
      assert.equal(removed.headers.location, manage(w));
      const page = await agent.get(manage(w));
      assert.match(page.text, /is no longer trusted\./);
      assert.match(page.text, /You have no trusted browsers in this portal\./);
      assert.equal((await auditOf(w, 'portal.environment.remove')).length, 1);
      await signOut(agent, w);
      assert.equal((await password(agent, w, m)).headers.location, `${w.portal.base}sign-in/second-factor`);
    });
  });

  describe('Manage User Environment page', () => {
    it('shows an empty state, then lists trusted browsers only (not merely seen ones)', async () => {
      const w = await world();
      const m = await member(w);
      const other = browser(FIREFOX_WINDOWS);
      await signInWith2fa(other, w, m); // seen, not trusted
      const page = await other.get(manage(w));
      assert.equal(page.status, 200);
      assert.match(page.text, /<h1>Trusted browsers<\/h1>/);
      assert.match(page.text, /You have no trusted browsers in this portal\./);
      assert.ok(page.text.includes(PROMPT), 'this session may still trust its browser');

      const agent = browser();
      await trusted(agent, w, m);
      const list = await other.get(manage(w));
      assert.doesNotMatch(list.text, /You have no trusted browsers/);
      assert.ok(list.text.includes('<strong>My laptop</strong>'));
      assert.ok(!list.text.includes('This browser</span>'), 'the Firefox browser is not the trusted one');
    });

    it('renames a trusted browser; a blank or too long name is refused with a message', async () => {
      const w = await world();
      const m = await member(w);
      const agent = browser();
      const row = await trusted(agent, w, m);
      const rename = (label: string) => postForm(agent, manage(w), `${manage(w)}/${row.id}/rename`, { label });
      const blank = await rename('   ');
      assert.equal(blank.status, 422);
      assert.match(blank.text, /Enter a name for this browser\./);
      const long = await rename('x'.repeat(61));
      assert.equal(long.status, 422);
      assert.match(long.text, /Use at most 60 characters\./);
      assert.equal((await environments(m.id))[0].label, 'My laptop');
      const ok = await rename('  Work PC ');
      assert.equal(ok.status, 303);
      assert.equal((await environments(m.id))[0].label, 'Work PC');
      assert.ok((await agent.get(manage(w))).text.includes('<strong>Work PC</strong>'));
      const audit = await auditOf(w, 'portal.environment.rename');
      assert.equal(audit.length, 1);
      assert.equal(audit[0].details.label, 'Work PC');
    });

    it("another user's browser id, an unknown id and a malformed id are 404 and change nothing", async () => {
      const w = await world();
      const ann = await member(w);
      const bob = await member(w);
      const annRow = await trusted(browser(), w, ann, 'Ann laptop');
      const agent = browser();
      await signInWith2fa(agent, w, bob);
      for (const id of [annRow.id, '6f1c1b0e-0000-4000-8000-000000000000', 'not-a-uuid']) {
        assert.equal((await agent.get(`${manage(w)}/${id}/remove`)).status, 404, `GET remove ${id}`);
        assert.equal((await postForm(agent, manage(w), `${manage(w)}/${id}/rename`, { label: 'Mine now' })).status, 404, `rename ${id}`);
        assert.equal((await postForm(agent, manage(w), `${manage(w)}/${id}/remove`, {})).status, 404, `remove ${id}`);
      }
      const after = await ctx.services.db('user_environments').where({ id: annRow.id }).first();
      assert.equal(after.label, 'Ann laptop');
      assert.ok(after.trusted_at);
      assert.ok(!(await agent.get(manage(w))).text.includes('Ann laptop'), "Bob does not see Ann's browser");
    });

    it('a disabled action is refused (403) on GET and POST, nothing changes, and the dashboard does not offer trust', async () => {
      const w = await world();
      const m = await member(w);
      const agent = browser();
      const row = await trusted(agent, w, m);
      const put = await w.api.put(`/resources/${w.portal.resource.id}/self-service`, { address: w.portal.address, allowedActions: [], enrollmentTokenTypes: [] });
      assert.equal(put.status, 200, put.text);

      const page = await agent.get(manage(w));
      assert.equal(page.status, 403);
      assert.match(page.text, DISABLED);
      const confirm = await agent.get(`${manage(w)}/${row.id}/remove`);
      assert.equal(confirm.status, 403);
      for (const [path, fields] of [[`${manage(w)}/${row.id}/rename`, { label: 'Changed' }], [`${manage(w)}/${row.id}/remove`, {}], [`${manage(w)}/trust`, { label: 'Again' }]] as const) {
        const res = await postForm(agent, w.portal.base, path, fields);
        assert.equal(res.status, 403, path);
        assert.match(res.text, DISABLED);
      }
      const rows = await environments(m.id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].label, 'My laptop');
      assert.ok(rows[0].trusted_at);

      const fresh = browser(FIREFOX_WINDOWS);
      await signInWith2fa(fresh, w, m);
      assert.ok(!(await fresh.get(w.portal.base)).text.includes(PROMPT), 'no prompt while the action is disabled');
      assert.equal((await trust(fresh, w)).status, 403);
      assert.equal((await environments(m.id)).filter((e) => e.trusted_at).length, 1);
    });
  });

  describe('new-browser email', () => {
    const newSignInMails = (w: World, m: Member) => ctx.services.db('messages').where({ tenant_id: w.tenant.tenantId, recipient: m.email }).where('subject', 'like', 'New sign-in to %').orderBy('created_at');

    it('is sent only when the resource asks for it, and only for a browser not seen before', async () => {
      const w = await world();
      const m = await member(w, false);
      const known = browser();
      assert.equal((await password(known, w, m)).headers.location, w.portal.base);
      assert.equal((await newSignInMails(w, m)).length, 0, 'setting off: no email');
      const firstAudit = await auditOf(w, 'portal.environment.new');
      assert.equal(firstAudit.length, 1);
      assert.equal(firstAudit[0].details.notified, false);

      assert.equal((await w.api.patch(`/resources/${w.portal.resource.id}`, { notifyNewEnvironment: true })).status, 200);
      await signOut(known, w);
      assert.equal((await password(known, w, m)).headers.location, w.portal.base);
      assert.equal((await newSignInMails(w, m)).length, 0, 'a browser seen before: no email');

      const stranger = browser(FIREFOX_WINDOWS);
      assert.equal((await password(stranger, w, m)).headers.location, w.portal.base);
      const mails = await newSignInMails(w, m);
      assert.equal(mails.length, 1, 'a new browser: one email');
      assert.equal(mails[0].subject, `New sign-in to ${w.portal.resource.name}`);
      assert.match(mails[0].body_text, new RegExp(`New sign-in to ${w.portal.resource.name} from Firefox on Windows, IP [0-9a-f:.]+`));
      await signOut(stranger, w);
      assert.equal((await password(stranger, w, m)).headers.location, w.portal.base);
      assert.equal((await newSignInMails(w, m)).length, 1, 'the same browser again: no second email');
      const audit = await auditOf(w, 'portal.environment.new');
      assert.equal(audit.length, 2);
      assert.equal(audit[1].details.notified, true);
      assert.equal(audit[1].details.browser, 'Firefox on Windows');
    });
  });

  describe('resource settings', () => {
    it('the API reads, changes and validates both settings (off by default)', async () => {
      const tenant = await createTenant(ctx.services);
      const api = apiClient(ctx.app, tenant.apiKey);
      const created = await api.post('/resources', { name: unique('Env') });
      assert.equal(created.status, 201);
      assert.equal(created.body.trustedEnvironmentSkipsSecondFactor, false);
      assert.equal(created.body.notifyNewEnvironment, false);
      const patched = await api.patch(`/resources/${created.body.id}`, { trustedEnvironmentSkipsSecondFactor: true, notifyNewEnvironment: true });
      assert.equal(patched.status, 200, patched.text);
      const got = await api.get(`/resources/${created.body.id}`);
      assert.equal(got.body.trustedEnvironmentSkipsSecondFactor, true);
      assert.equal(got.body.notifyNewEnvironment, true);
      const bad = await api.patch(`/resources/${created.body.id}`, { trustedEnvironmentSkipsSecondFactor: 'yes', notifyNewEnvironment: 1 });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.body.error.fields, { trustedEnvironmentSkipsSecondFactor: 'Use true or false.', notifyNewEnvironment: 'Use true or false.' });
      const doc = await api.get('/openapi.json');
      for (const schema of ['ResourcePatch', 'Resource']) {
        assert.equal(doc.body.components.schemas[schema].properties.trustedEnvironmentSkipsSecondFactor.type, 'boolean', schema);
        assert.equal(doc.body.components.schemas[schema].properties.notifyNewEnvironment.type, 'boolean', schema);
      }
    });

    it('the console shows both checkboxes with hints and saves them', async () => {
      const tenant = await createTenant(ctx.services);
      const resource = await ctx.services.resources.create(tenant.actor, { name: unique('Env') });
      const agent = await adminSignIn(ctx.app, tenant);
      const page = await agent.get(`/admin/resources/${resource.id}`);
      assert.equal(page.status, 200);
      assert.match(page.text, /<input type="checkbox" id="f-trustedEnvironmentSkipsSecondFactor" name="trustedEnvironmentSkipsSecondFactor" value="1" >/);
      assert.match(page.text, /<input type="checkbox" id="f-notifyNewEnvironment" name="notifyNewEnvironment" value="1" >/);
      assert.match(page.text, /Trusted browsers skip the second factor/);
      assert.match(page.text, /Email users about sign-ins from a new browser/);
      const fields = { name: resource.name, requireSecondFactor: '0', trustedEnvironmentSkipsSecondFactor: '1', notifyNewEnvironment: '1' };
      const saved = await postForm(agent, `/admin/resources/${resource.id}`, `/admin/resources/${resource.id}`, fields);
      assert.equal(saved.status, 303, saved.text.slice(0, 300));
      let row = await ctx.services.resources.get(tenant.actor, resource.id);
      assert.equal(row.trustedEnvironmentSkipsSecondFactor, true);
      assert.equal(row.notifyNewEnvironment, true);
      assert.match((await agent.get(`/admin/resources/${resource.id}`)).text, /id="f-notifyNewEnvironment" name="notifyNewEnvironment" value="1" checked>/);
      // Unchecked boxes send only their hidden "0".
      await postForm(agent, `/admin/resources/${resource.id}`, `/admin/resources/${resource.id}`, { ...fields, trustedEnvironmentSkipsSecondFactor: '0', notifyNewEnvironment: '0' });
      row = await ctx.services.resources.get(tenant.actor, resource.id);
      assert.equal(row.trustedEnvironmentSkipsSecondFactor, false);
      assert.equal(row.notifyNewEnvironment, false);
    });
  });
});
