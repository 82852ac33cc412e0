import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestContext, type TestContext } from '../helpers/context';
import { addAdmin, createResource, createTenant, createUser, unique, type TestTenant } from '../helpers/factories';
import { csrfOf, postForm, signIn, type Agent } from '../helpers/admin-agent';
import { base32Decode, generateHotp, generateTotp } from '../../src/otp/otp-engine';

const NO_STACK = /at .*\.ts:\d+/;
const TOTP = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;

describe('console: tokens', () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext();
  });
  after(() => ctx.close());

  const tokenRow = (tenant: TestTenant, id: string) => ctx.services.db('tokens').where({ tenant_id: tenant.tenantId, id }).first();
  const auditOf = (tenant: TestTenant, action: string, targetId: string) => ctx.services.db('audit_events').where({ tenant_id: tenant.tenantId, action, target_id: targetId });
  const rows = (html: string) => (html.match(/data-label="Serial"/g) ?? []).length;
  const idFrom = (location: unknown) => String(location).split('/')[3];

  /** Creates a token through the form and returns its id and the one-time page. */
  async function createViaForm(agent: Agent, fields: Record<string, string>) {
    const res = await postForm(agent, '/admin/tokens/new', '/admin/tokens', { algorithm: 'SHA1', digits: '6', period: '30', name: '', owner: '', ...fields });
    assert.equal(res.status, 303, res.text);
    assert.match(String(res.headers.location), /^\/admin\/tokens\/[0-9a-f-]{36}\/created$/);
    const id = idFrom(res.headers.location);
    const shown = await agent.get(String(res.headers.location));
    return { id, shown };
  }

  const manualKeyOf = (html: string) => html.match(/id="manual-key">([A-Z2-7 ]+)</)?.[1];

  it('creates a TOTP token and shows its QR code, key and URI once, never cached, never again (SEC-03)', async () => {
    const tenant = await createTenant(ctx.services);
    const user = await createUser(ctx.services, tenant, { login: 'alice' });
    const agent = await signIn(ctx.app, tenant);
    const form = await agent.get('/admin/tokens/new');
    assert.equal(form.status, 200);
    assert.match(form.text, /<label for="f-type-totp">/);
    assert.match(form.text, /<label for="f-owner">Owner \(login\)<\/label>/);

    const post = await postForm(agent, '/admin/tokens/new', '/admin/tokens', { type: 'totp', owner: 'alice', name: 'Work phone', algorithm: 'SHA1', digits: '6', period: '30' });
    assert.equal(post.status, 303);
    const id = idFrom(post.headers.location);
    // Between the redirect and the page, the session (a PostgreSQL row) holds the URI sealed only.
    const sessionDump = (await ctx.services.db.raw('SELECT data::text AS data FROM sessions')).rows.map((r: { data: string }) => r.data).join('\n');

    const shown = await agent.get(`/admin/tokens/${id}/created`);
    assert.equal(shown.status, 200);
    assert.match(String(shown.headers['cache-control']), /no-store/);
    assert.match(shown.text, /<div class="qr" role="img"[^>]*><svg/);
    const key = manualKeyOf(shown.text);
    assert.ok(key, 'manual key shown');
    assert.match(key!, /^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/, 'grouped by 4');
    const base32 = key!.replace(/ /g, '');
    assert.equal(base32Decode(base32).length, 20, '160-bit seed');
    assert.match(shown.text, new RegExp(`otpauth://totp/[^"<]*secret=${base32}`));
    assert.match(shown.text, /Shown only this once/);
    assert.ok(!sessionDump.includes(base32), 'no plain seed in the session store');

    const again = await agent.get(`/admin/tokens/${id}/created`);
    assert.equal(again.status, 200);
    assert.match(String(again.headers['cache-control']), /no-store/);
    assert.doesNotMatch(again.text, /<svg/);
    assert.ok(!again.text.includes(base32));
    assert.doesNotMatch(again.text, /otpauth:/);
    assert.match(again.text, /cannot be shown again/);

    const page = await agent.get(`/admin/tokens/${id}`);
    assert.equal(page.status, 200);
    const seedHex = base32Decode(base32).toString('hex');
    for (const form of [base32, key!, seedHex, seedHex.toUpperCase()]) assert.ok(!page.text.includes(form), 'the token page never shows the seed');
    assert.match(page.text, /Work phone/);
    assert.match(page.text, new RegExp(`href="/admin/users/${user.id}">alice</a>`));
    assert.match(page.text, /TOTP · SHA1 · 6 digits · 30 s/);
    const row = await tokenRow(tenant, id);
    assert.equal(row.user_id, user.id);
    assert.ok(!String(row.seed_sealed).includes(base32));
    assert.equal((await auditOf(tenant, 'token.create', id)).length, 1);
  });

  it('creates HOTP with its options, and backup codes shown once with a print button (SEC-13)', async () => {
    const tenant = await createTenant(ctx.services);
    await createUser(ctx.services, tenant, { login: 'bob', email: 'bob@example.test' });
    const agent = await signIn(ctx.app, tenant);

    const hotp = await createViaForm(agent, { type: 'hotp', algorithm: 'SHA256', digits: '8', period: '30' });
    assert.match(hotp.shown.text, /otpauth:\/\/hotp\/[^"<]*algorithm=SHA256&amp;digits=8&amp;counter=0/);
    const hotpRow = await tokenRow(tenant, hotp.id);
    assert.deepEqual([hotpRow.otp_kind, hotpRow.algorithm, hotpRow.digits, hotpRow.period, hotpRow.user_id], ['hotp', 'SHA256', 8, null, null]);

    const backup = await createViaForm(agent, { type: 'backup_codes', owner: 'bob' });
    const codes = [...backup.shown.text.matchAll(/<li><code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})<\/code><\/li>/g)].map((m) => m[1]);
    assert.equal(codes.length, 10);
    assert.match(backup.shown.text, /<button type="button" data-print>Print<\/button>/);
    assert.match(String(backup.shown.headers['cache-control']), /no-store/);
    const again = await agent.get(`/admin/tokens/${backup.id}/created`);
    for (const code of codes) assert.ok(!again.text.includes(code));
    assert.ok(!(await agent.get(`/admin/tokens/${backup.id}`)).text.includes(codes[0]));

    const email = await postForm(agent, '/admin/tokens/new', '/admin/tokens', { type: 'email', owner: 'bob' });
    assert.equal(email.status, 303);
    assert.match(String(email.headers.location), /^\/admin\/tokens\/[0-9a-f-]{36}$/, 'nothing to reveal: straight to the token');
  });

  it('re-renders the create form with field messages (422) and creates nothing', async () => {
    const tenant = await createTenant(ctx.services);
    await createUser(ctx.services, tenant, { login: 'nophone' });
    const agent = await signIn(ctx.app, tenant);
    const count = async () => Number((await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId }).count('* as n').first())!.n);

    const noOwner = await postForm(agent, '/admin/tokens/new', '/admin/tokens', { type: 'backup_codes', owner: '', name: 'Keep me' });
    assert.equal(noOwner.status, 422);
    assert.match(noOwner.text, /id="f-owner-error">This type of token belongs to a user/);
    assert.match(noOwner.text, /value="Keep me"/);
    assert.match(noOwner.text, /id="f-type-backup_codes" name="type" value="backup_codes"[^>]* checked/);
    const unknown = await postForm(agent, '/admin/tokens/new', '/admin/tokens', { type: 'totp', owner: 'ghost' });
    assert.equal(unknown.status, 422);
    assert.match(unknown.text, /No user has the login &quot;ghost&quot;\.|No user has the login "ghost"\./);
    const sms = await postForm(agent, '/admin/tokens/new', '/admin/tokens', { type: 'sms', owner: 'nophone' });
    assert.equal(sms.status, 422);
    assert.match(sms.text, /id="f-owner-error">This user has no phone number\./);
    const badDigits = await postForm(agent, '/admin/tokens/new', '/admin/tokens', { type: 'totp', digits: '7' });
    assert.equal(badDigits.status, 422);
    assert.match(badDigits.text, /id="f-digits-error">Use 6 or 8 digits\./);
    const hardware = await postForm(agent, '/admin/tokens/new', '/admin/tokens', { type: 'hardware' });
    assert.equal(hardware.status, 422);
    const fragment = await agent.post('/admin/tokens').set('HX-Request', 'true').type('form').send({ _csrf: await csrfOf(agent, '/admin/tokens/new'), type: 'email' });
    assert.equal(fragment.status, 422);
    assert.doesNotMatch(fragment.text, /<html/, 'htmx gets the form alone');
    assert.match(fragment.text, /id="token-form"/);
    assert.equal(await count(), 0);
  });

  it('lists tokens with search, filters, paging, an htmx fragment and an empty state', async () => {
    const tenant = await createTenant(ctx.services);
    const alice = await createUser(ctx.services, tenant, { login: 'alice' });
    const made = [];
    for (let i = 0; i < 12; i++) made.push((await ctx.services.tokens.create(tenant.actor, { type: 'totp', userId: alice.id, name: `phone-${i}` })).token);
    for (let i = 0; i < 10; i++) made.push((await ctx.services.tokens.create(tenant.actor, { type: 'hotp', name: `stock-hotp-${i}` })).token);
    for (let i = 0; i < 8; i++) made.push((await ctx.services.tokens.create(tenant.actor, { type: 'totp', name: `stock-totp-${i}` })).token);
    for (const t of made.slice(0, 3)) await ctx.services.tokens.setEnabled(tenant.actor, t.id, false);
    const agent = await signIn(ctx.app, tenant);

    const all = await agent.get('/admin/tokens');
    assert.equal(all.status, 200);
    assert.equal(rows(all.text), 25);
    assert.match(all.text, /Page 1 of 2 \(30 in all\)/);
    for (const column of ['Serial', 'Type', 'Name', 'Owner', 'Resources', 'Status', 'Last used']) assert.match(all.text, new RegExp(`<th scope="col">${column}</th>`));
    assert.match(all.text, /<label for="filter-type">Type<\/label>/);

    assert.equal(rows((await agent.get('/admin/tokens?q=ALICE&perPage=50')).text), 12, 'search matches the owner login');
    const bySerial = await agent.get(`/admin/tokens?q=${made[20].serial.toLowerCase()}`);
    assert.equal(rows(bySerial.text), 1);
    assert.match(bySerial.text, new RegExp(`>${made[20].serial}<`));
    assert.equal(rows((await agent.get('/admin/tokens?q=stock-hotp&perPage=50')).text), 10, 'search matches the name');
    assert.equal(rows((await agent.get('/admin/tokens?type=hotp&perPage=50')).text), 10);
    assert.equal(rows((await agent.get('/admin/tokens?status=stock&perPage=50')).text), 18);
    const disabled = await agent.get('/admin/tokens?status=disabled');
    assert.equal(rows(disabled.text), 3);
    assert.equal((disabled.text.match(/class="badge danger">Disabled/g) ?? []).length, 3);
    assert.equal(rows((await agent.get('/admin/tokens?status=enabled&type=totp&perPage=50')).text), 17);
    assert.equal(rows((await agent.get('/admin/tokens?owner=alice&perPage=50')).text), 12);
    assert.match((await agent.get('/admin/tokens?owner=nobody')).text, /No user has the login &quot;nobody&quot;|No user has the login "nobody"/);
    assert.match((await agent.get('/admin/tokens?q=no-such-token')).text, /No token matches these filters\./);

    const page2 = await agent.get('/admin/tokens?type=totp&perPage=5&page=2');
    assert.equal(rows(page2.text), 5);
    assert.match(page2.text, /Page 2 of 4 \(20 in all\)/);
    assert.match(page2.text, /href="\/admin\/tokens\?type=totp&amp;perPage=5&amp;page=3"/, 'pager keeps the filters');

    const fragment = await agent.get('/admin/tokens?type=hotp').set('HX-Request', 'true');
    assert.equal(fragment.status, 200);
    assert.doesNotMatch(fragment.text, /<html/);
    assert.match(fragment.text, /<table class="list">/);

    const empty = await signIn(ctx.app, await createTenant(ctx.services));
    const none = await empty.get('/admin/tokens');
    assert.match(none.text, /No tokens yet\./);
    assert.match(none.text, /Create your first token/);
    assert.match(none.text, /<a href="\/admin\/tokens"[^>]*>Tokens<\/a>/, 'nav link');
  });

  it('disables and enables a token, sets and clears a PIN, resets the fail counter, all audited', async () => {
    const tenant = await createTenant(ctx.services);
    const { token } = await ctx.services.tokens.create(tenant.actor, { type: 'totp' });
    const agent = await signIn(ctx.app, tenant);
    const page = `/admin/tokens/${token.id}`;

    assert.equal((await postForm(agent, page, `${page}/disable`, {})).status, 303);
    assert.equal((await tokenRow(tenant, token.id)).enabled, false);
    const disabled = await agent.get(page);
    assert.match(disabled.text, /Token [^<]+ <span class="badge danger">Disabled<\/span><\/h1>/);
    assert.match(disabled.text, /is disabled/);
    assert.equal((await postForm(agent, page, `${page}/enable`, {})).status, 303);
    assert.equal((await tokenRow(tenant, token.id)).enabled, true);

    const shown = await agent.get(page);
    assert.match(shown.text, /id="f-pin" name="pin" type="password" value=""\s+autocomplete="off"\s+required\s+inputmode="numeric"/);
    const bad = await postForm(agent, page, `${page}/pin`, { pin: '12ab' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /id="f-pin-error">Use 4 to 12 digits\./);
    assert.doesNotMatch(bad.text, /value="12ab"/, 'the PIN is never echoed');
    // Twelve digits: a shorter PIN turns up by chance in the page's random hex (CSRF token, serial).
    assert.equal((await postForm(agent, page, `${page}/pin`, { pin: '471147114711' })).status, 303);
    assert.match((await tokenRow(tenant, token.id)).pin_hash, /^\$argon2id\$/);
    const withPin = await agent.get(page);
    assert.match(withPin.text, /<dt>PIN<\/dt><dd>Set<\/dd>/);
    assert.doesNotMatch(withPin.text, /471147114711/);
    assert.equal((await postForm(agent, page, `${page}/pin/clear`, {})).status, 303);
    assert.equal((await tokenRow(tenant, token.id)).pin_hash, null);

    await ctx.services.db('tokens').where({ id: token.id }).update({ fail_count: 4 });
    assert.match((await agent.get(page)).text, /id="token-failures">4</);
    assert.equal((await postForm(agent, page, `${page}/failures/reset`, {})).status, 303);
    assert.equal((await tokenRow(tenant, token.id)).fail_count, 0);

    assert.equal((await postForm(agent, page, page, { name: 'Renamed' })).status, 303);
    assert.equal((await tokenRow(tenant, token.id)).name, 'Renamed');
    for (const action of ['token.disable', 'token.enable', 'token.pin.set', 'token.pin.clear', 'token.failures.reset', 'token.update']) {
      assert.equal((await auditOf(tenant, action, token.id)).length, 1, action);
    }
  });

  it('resyncs a TOTP token from two consecutive codes, shows and resets the drift, refuses a wrong pair (422)', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const { id, shown } = await createViaForm(agent, { type: 'totp' });
    const seed = base32Decode(manualKeyOf(shown.text)!);
    const page = `/admin/tokens/${id}`;
    const form = await agent.get(page);
    assert.match(form.text, /id="f-code1" name="code1" type="text" value=""\s+autocomplete="one-time-code"/);
    assert.match(form.text, /id="f-code2" name="code2" type="text" value=""\s+autocomplete="one-time-code"/);

    const now = Date.now();
    const wrong = await postForm(agent, page, `${page}/resync`, { code1: generateTotp(seed, now + 20 * 30_000, TOTP), code2: generateTotp(seed, now + 22 * 30_000, TOTP) });
    assert.equal(wrong.status, 422);
    assert.match(wrong.text, /id="f-code1-error">These codes do not match two consecutive codes/);
    assert.equal((await tokenRow(tenant, id)).drift, 0);

    // The token's clock runs 20 steps (10 minutes) ahead.
    const ahead = Date.now() + 20 * 30_000;
    const res = await postForm(agent, page, `${page}/resync`, { code1: generateTotp(seed, ahead - 30_000, TOTP), code2: generateTotp(seed, ahead, TOTP) });
    assert.equal(res.status, 303);
    const drift = (await tokenRow(tenant, id)).drift;
    assert.ok(drift === 20 || drift === 19, `drift ${drift}`);
    const synced = await agent.get(page);
    assert.match(synced.text, new RegExp(`id="token-drift">${drift} steps<`));
    assert.match(synced.text, /is synchronised\./);
    assert.match(synced.text, />Reset drift</);
    assert.equal((await postForm(agent, page, `${page}/drift/reset`, {})).status, 303);
    assert.equal((await tokenRow(tenant, id)).drift, 0);
    assert.match((await agent.get(page)).text, /id="token-drift">0 steps</);
    assert.equal((await auditOf(tenant, 'token.resync', id)).length, 2, 'the failed and the successful attempt');
    assert.equal((await auditOf(tenant, 'token.drift.reset', id)).length, 1);
  });

  it('resyncs an HOTP token far beyond the look-ahead', async () => {
    const tenant = await createTenant(ctx.services);
    const agent = await signIn(ctx.app, tenant);
    const { id, shown } = await createViaForm(agent, { type: 'hotp' });
    const seed = base32Decode(manualKeyOf(shown.text)!);
    const page = `/admin/tokens/${id}`;
    const params = { algorithm: 'SHA1', digits: 6 } as const;
    const res = await postForm(agent, page, `${page}/resync`, { code1: generateHotp(seed, 500, params), code2: generateHotp(seed, 501, params) });
    assert.equal(res.status, 303);
    assert.equal((await tokenRow(tenant, id)).hotp_counter, 502);
    assert.match((await agent.get(page)).text, /<dt>Next counter<\/dt><dd>502<\/dd>/);
  });

  it('gives a token an owner, assigns it to resources of the owner, with the service messages, and unassigns', async () => {
    const tenant = await createTenant(ctx.services);
    const vpn = await createResource(ctx.services, tenant, { name: 'VPN' });
    const wiki = await createResource(ctx.services, tenant, { name: 'Wiki' });
    const carol = await createUser(ctx.services, tenant, { login: 'carol' });
    await ctx.services.users.assign(tenant.actor, vpn.id, carol.id);
    const { token } = await ctx.services.tokens.create(tenant.actor, { type: 'totp' });
    const { token: second } = await ctx.services.tokens.create(tenant.actor, { type: 'totp', userId: carol.id });
    const agent = await signIn(ctx.app, tenant);
    const page = `/admin/tokens/${token.id}`;

    const stock = await agent.get(page);
    assert.match(stock.text, /In stock: this token has no owner yet/);
    const noOwner = await postForm(agent, page, `${page}/resources`, { resourceId: vpn.id });
    assert.equal(noOwner.status, 422);
    assert.match(noOwner.text, /<p class="error" role="alert">Give the token an owner first/);

    const unknown = await postForm(agent, page, `${page}/owner`, { login: 'nobody' });
    assert.equal(unknown.status, 422);
    assert.match(unknown.text, /id="f-login-error">No user has the login/);
    assert.equal((await postForm(agent, page, `${page}/owner`, { login: 'CAROL' })).status, 303);
    assert.equal((await tokenRow(tenant, token.id)).user_id, carol.id);

    const owned = await agent.get(page);
    assert.match(owned.text, new RegExp(`<option value="${vpn.id}">VPN</option>`), "the owner's resources are offered");
    assert.doesNotMatch(owned.text, new RegExp(`<option value="${wiki.id}"`));

    const notAssigned = await postForm(agent, page, `${page}/resources`, { resourceId: wiki.id });
    assert.equal(notAssigned.status, 422);
    assert.match(notAssigned.text, /id="f-resourceId-error">The token(&#39;|')s owner is not assigned to this resource/);
    const blank = await postForm(agent, page, `${page}/resources`, { resourceId: '' });
    assert.equal(blank.status, 422);
    assert.match(blank.text, /Choose a resource\./);

    assert.equal((await postForm(agent, page, `${page}/resources`, { resourceId: vpn.id })).status, 303);
    const assigned = await agent.get(page);
    assert.match(assigned.text, new RegExp(`href="/admin/resources/${vpn.id}">VPN</a>`));
    assert.match(assigned.text, /The token is in every resource of carol\./);
    assert.equal((await auditOf(tenant, 'resource.token.assign', token.id)).length, 1);
    assert.match((await agent.get('/admin/tokens?owner=carol')).text, /data-label="Resources">1</);

    // VPN allows one token per user (the default): carol's second token is refused.
    const secondPage = `/admin/tokens/${second.id}`;
    const max = await postForm(agent, secondPage, `${secondPage}/resources`, { resourceId: vpn.id });
    assert.equal(max.status, 422);
    assert.match(max.text, /This user already has the maximum of 1 token\(s\) in VPN\./);
    assert.equal((await ctx.services.db('token_resources').where({ token_id: second.id })).length, 0);

    assert.equal((await postForm(agent, page, `${page}/resources/${vpn.id}/unassign`, {})).status, 303);
    assert.equal((await ctx.services.db('token_resources').where({ token_id: token.id })).length, 0);
    assert.equal((await postForm(agent, page, `${page}/resources/${vpn.id}/unassign`, {})).status, 404);

    await ctx.services.tokens.assignToResource(tenant.actor, vpn.id, token.id);
    assert.equal((await postForm(agent, page, `${page}/owner/remove`, {})).status, 303);
    const back = await tokenRow(tenant, token.id);
    assert.equal(back.user_id, null);
    assert.equal((await ctx.services.db('token_resources').where({ token_id: token.id })).length, 0, 'a token back in stock leaves its resources');
  });

  it('shows the user’s tokens and lock state per resource on the user page, and unlocks', async () => {
    const tenant = await createTenant(ctx.services);
    const vpn = await createResource(ctx.services, tenant, { name: 'VPN' });
    const dave = await createUser(ctx.services, tenant, { login: 'dave' });
    await ctx.services.users.assign(tenant.actor, vpn.id, dave.id);
    const { token } = await ctx.services.tokens.create(tenant.actor, { type: 'totp', userId: dave.id, name: 'Dave phone' });
    await ctx.services.tokens.assignToResource(tenant.actor, vpn.id, token.id);
    await ctx.services.db('resource_users').where({ resource_id: vpn.id, user_id: dave.id }).update({ fail_count: 5, locked_until: new Date(Date.now() + 10 * 60_000) });
    const agent = await signIn(ctx.app, tenant);
    const page = `/admin/users/${dave.id}`;

    const shown = await agent.get(page);
    assert.match(shown.text, /<h2 id="user-tokens-title">Tokens<\/h2>/);
    assert.match(shown.text, new RegExp(`href="/admin/tokens/${token.id}">${token.serial}</a>`));
    assert.match(shown.text, /href="\/admin\/tokens\/new\?owner=dave"/);
    const locks = shown.text.slice(shown.text.indexOf('id="user-token-locks"'));
    assert.match(locks, new RegExp(`data-label="Tokens">${token.serial}<`));
    assert.match(locks, /class="badge danger">Locked<\/span> until <time/);
    assert.match(locks, new RegExp(`action="/admin/users/${dave.id}/resources/${vpn.id}/unlock"`));

    const res = await postForm(agent, page, `${page}/resources/${vpn.id}/unlock`, {});
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, page);
    const row = await ctx.services.db('resource_users').where({ resource_id: vpn.id, user_id: dave.id }).first();
    assert.equal(row.fail_count, 0);
    assert.equal(row.locked_until, null);
    assert.equal((await auditOf(tenant, 'resource.user.unlock', dave.id)).length, 1);
    const after = await agent.get(page);
    assert.match(after.text, /dave is unlocked in VPN\./);
    assert.doesNotMatch(after.text, /\/unlock"/);

    const other = await createResource(ctx.services, tenant);
    assert.equal((await postForm(agent, page, `${page}/resources/${other.id}/unlock`, {})).status, 404, 'not assigned there');
  });

  it('deletes a token through a confirmation page', async () => {
    const tenant = await createTenant(ctx.services);
    const { token } = await ctx.services.tokens.create(tenant.actor, { type: 'hotp' });
    const agent = await signIn(ctx.app, tenant);
    const page = `/admin/tokens/${token.id}`;
    assert.match((await agent.get(page)).text, new RegExp(`href="${page}/delete"`));
    const confirm = await agent.get(`${page}/delete`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, new RegExp(`Delete token “${token.serial}”\\?`));
    assert.match(confirm.text, /cannot be undone/);
    const res = await postForm(agent, `${page}/delete`, `${page}/delete`, {});
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/admin/tokens');
    assert.equal(await tokenRow(tenant, token.id), undefined);
    assert.equal((await auditOf(tenant, 'token.delete', token.id)).length, 1);
    assert.equal((await agent.get(page)).status, 404);
  });

  it("answers 404 for another tenant's token and changes nothing (SEC-20)", async () => {
    const a = await createTenant(ctx.services);
    const b = await createTenant(ctx.services);
    const bUser = await createUser(ctx.services, b, { login: 'erin' });
    const bResource = await createResource(ctx.services, b);
    await ctx.services.users.assign(b.actor, bResource.id, bUser.id);
    const { token: foreign } = await ctx.services.tokens.create(b.actor, { type: 'totp', userId: bUser.id });
    await createUser(ctx.services, a, { login: 'erin' });
    const agent = await signIn(ctx.app, a);
    const base = `/admin/tokens/${foreign.id}`;

    for (const path of [base, `${base}/created`, `${base}/delete`, '/admin/tokens/not-a-uuid', '/admin/tokens/not-a-uuid/delete']) {
      const res = await agent.get(path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.text, NO_STACK);
    }
    for (const action of ['', '/disable', '/pin', '/pin/clear', '/resync', '/drift/reset', '/failures/reset', '/owner', '/owner/remove', '/resources', `/resources/${bResource.id}/unassign`, '/delete']) {
      const res = await postForm(agent, '/admin/tokens', `${base}${action}`, { name: 'hijacked', pin: '1234', code1: '123456', code2: '654321', login: 'erin', resourceId: bResource.id });
      assert.equal(res.status, 404, action);
      assert.doesNotMatch(res.text, NO_STACK);
    }
    const search = await agent.get(`/admin/tokens?q=${foreign.serial}`);
    assert.match(search.text, /No token matches these filters\./);
    assert.doesNotMatch(search.text, new RegExp(`>${foreign.serial}<`));
    const row = await tokenRow(b, foreign.id);
    assert.equal(row.enabled, true);
    assert.equal(row.name, '');
    assert.equal(row.pin_hash, null);
    assert.equal(row.user_id, bUser.id);
  });

  it('lets an auditor read tokens but not change them (403, nothing written)', async () => {
    const owner = await createTenant(ctx.services);
    const resource = await createResource(ctx.services, owner);
    const user = await createUser(ctx.services, owner, { login: 'frank' });
    await ctx.services.users.assign(owner.actor, resource.id, user.id);
    const { token } = await ctx.services.tokens.create(owner.actor, { type: 'totp', userId: user.id });
    await ctx.services.db('resource_users').where({ resource_id: resource.id, user_id: user.id }).update({ fail_count: 5, locked_until: new Date(Date.now() + 60_000) });
    const auditor = await addAdmin(ctx.services, owner, 'auditor');
    const agent = await signIn(ctx.app, auditor);
    const page = `/admin/tokens/${token.id}`;

    const list = await agent.get('/admin/tokens');
    assert.equal(list.status, 200);
    assert.match(list.text, new RegExp(token.serial));
    assert.doesNotMatch(list.text, /New token/);
    const shown = await agent.get(page);
    assert.equal(shown.status, 200);
    assert.doesNotMatch(shown.text, /<form method="post" action="\/admin\/tokens/, 'no forms for an auditor');
    assert.doesNotMatch(shown.text, /\/delete"/);
    assert.doesNotMatch((await agent.get('/admin/tokens/new')).text, /<form method="post" action="\/admin\/tokens"/);
    const userPage = await agent.get(`/admin/users/${user.id}`);
    assert.match(userPage.text, /Locked/);
    assert.doesNotMatch(userPage.text, /\/unlock"/);

    for (const action of ['/admin/tokens', page, `${page}/disable`, `${page}/pin`, `${page}/pin/clear`, `${page}/resync`, `${page}/drift/reset`, `${page}/failures/reset`, `${page}/owner`, `${page}/owner/remove`, `${page}/resources`, `${page}/delete`, `/admin/users/${user.id}/resources/${resource.id}/unlock`]) {
      const res = await postForm(agent, '/admin/tokens', action, { type: 'totp', name: 'changed', pin: '1234', code1: '123456', code2: '654321', login: 'frank', resourceId: resource.id });
      assert.equal(res.status, 403, action);
      assert.match(res.text, /Auditors have read-only access\./);
    }
    const row = await tokenRow(owner, token.id);
    assert.equal(row.enabled, true);
    assert.equal(row.name, '');
    assert.equal(row.pin_hash, null);
    assert.equal(Number((await ctx.services.db('tokens').where({ tenant_id: owner.tenantId }).count('* as n').first())!.n), 1);
    assert.equal((await ctx.services.db('resource_users').where({ user_id: user.id }).first()).fail_count, 5);
  });

  it('refuses token forms without a CSRF token (SEC-19)', async () => {
    const tenant = await createTenant(ctx.services);
    const { token } = await ctx.services.tokens.create(tenant.actor, { type: 'totp' });
    const agent = await signIn(ctx.app, tenant);
    for (const [action, fields] of [[`/admin/tokens/${token.id}/disable`, {}], ['/admin/tokens', { type: 'totp', name: unique('x') }], [`/admin/tokens/${token.id}/delete`, {}]] as const) {
      const res = await agent.post(action).type('form').send(fields);
      assert.equal(res.status, 403, action);
      assert.doesNotMatch(res.text, NO_STACK);
    }
    assert.equal((await tokenRow(tenant, token.id)).enabled, true);
    assert.equal((await ctx.services.db('tokens').where({ tenant_id: tenant.tenantId })).length, 1);
  });
});
