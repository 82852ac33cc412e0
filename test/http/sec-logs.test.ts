/**
 * SEC-23 logs never hold a secret: a full flow runs with LOG_LEVEL=trace into a buffer — a user
 * with a password, a TOTP token with a generated seed (otpauth URI), portal sign-in, API
 * authenticate with right and wrong codes, an emailed challenge code, a backup code — and the
 * captured lines are searched for every secret that passed through: the password, the seed
 * (base32 and hex), the otpauth URI, each code typed, the API key, the session cookie and an
 * admin invitation's token (it travels in the link's path, which request logs show).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { createServices, type Services } from '../../src/services';
import { createApp } from '../../src/app';
import { createLogger } from '../../src/lib/logger';
import { base32Decode, generateTotp } from '../../src/otp/otp-engine';
import { testDatabaseUrl } from '../helpers/env';
import { createTenant, unique } from '../helpers/factories';
import { apiClient } from '../helpers/api-client';
import { codeOtherThan, createPortal, enterLogin, enterSecondFactor, enterSecret, lastEmailedCode, setCookieValue, visitor } from '../helpers/portal';

const TOTP = { kind: 'totp', algorithm: 'SHA1', digits: 6, period: 30 } as const;

describe('SEC-23 logs never hold a secret, code, password or seed', () => {
  const lines: string[] = [];
  let services: Services;
  let app: Express;
  before(async () => {
    // As in createTestContext: the whole suite opens console links from 127.0.0.1 (see test/helpers/context.ts).
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: testDatabaseUrl(), DATABASE_POOL_MAX: '5', LOG_LEVEL: 'trace', BASE_URL: 'http://localhost:3000', CONSOLE_SIGN_IN_PER_IP: '1000000' });
    services = await createServices(config, { log: createLogger('trace', { write: (line: string) => void lines.push(line) }), migrate: false });
    app = createApp(services);
  });
  after(() => services.close());

  it('SEC-23 a full flow at trace level logs none of the password, seed (base32, hex), otpauth URI, codes, API key or session id', { timeout: 60_000 }, async () => {
    const secrets: Record<string, string> = {};
    const tenant = await createTenant(services);
    const api = apiClient(app, tenant.apiKey);
    secrets.apiKey = tenant.apiKey;
    const portal = await createPortal(services, tenant, { resource: { maxTokensPerUser: 5 } });
    const password = `pw ${randomBytes(12).toString('hex')}`;
    secrets.password = password;
    const email = `${unique('logs')}@example.test`;
    const user = await api.post('/users', { login: unique('logs'), email, password });
    assert.equal(user.status, 201, user.text);
    const login: string = user.body.login;
    assert.equal((await api.put(`/resources/${portal.resource.id}/users/${user.body.id}`)).status, 204);
    const assign = async (body: { id: string }) => assert.equal((await api.put(`/resources/${portal.resource.id}/tokens/${body.id}`)).status, 204);

    // A TOTP token with a generated seed: the URI is the only place the seed is shown.
    const totp = await api.post('/tokens', { userId: user.body.id, type: 'totp' });
    assert.equal(totp.status, 201, totp.text);
    await assign(totp.body);
    secrets.otpauthUri = totp.body.otpauthUri;
    const base32 = new URL(totp.body.otpauthUri).searchParams.get('secret')!;
    const seed = base32Decode(base32);
    secrets.seedBase32 = base32;
    secrets.seedHex = seed.toString('hex');
    const code = (steps: number) => generateTotp(seed, Date.now() + steps * 30_000, TOTP);

    // Portal sign-in: password, then the TOTP code.
    const agent = visitor(app);
    await enterLogin(agent, portal, login);
    await enterSecret(agent, portal, `${password}x`); // a wrong password is logged no more than a right one
    const started = await enterSecret(agent, portal, password);
    const signedIn = await enterSecondFactor(agent, portal, (secrets.portalCode = code(0)));
    assert.equal(signedIn.headers.location, portal.base, 'signed in');
    secrets.sessionCookie = decodeURIComponent(setCookieValue(signedIn, 'mfa.portal.sid') ?? setCookieValue(started, 'mfa.portal.sid')!);

    // The API: a right code, a wrong one, a right one with the password, a malformed body.
    const authenticate = (body: Record<string, unknown>) => api.post(`/resources/${portal.resource.id}/authenticate`, { login, ...body });
    assert.equal((await authenticate({ otp: (secrets.apiCode = code(1)) })).body.result, true);
    assert.equal((await authenticate({ otp: (secrets.wrongCode = codeOtherThan(code(-1), code(0), code(1), code(2))) })).body.result, false);
    assert.equal((await authenticate({ otp: (secrets.codeWithPassword = code(2)), password })).body.result, true);
    assert.equal((await authenticate({ otp: 123456 })).status, 422);

    // An emailed challenge code.
    const mail = await api.post('/tokens', { userId: user.body.id, type: 'email' });
    await assign(mail.body);
    assert.equal((await api.post(`/resources/${portal.resource.id}/challenge`, { login })).status, 200);
    secrets.challengeCode = (await lastEmailedCode(services, tenant.tenantId, email))!;
    assert.match(secrets.challengeCode, /^\d{6}$/);
    assert.equal((await authenticate({ otp: secrets.challengeCode })).body.result, true);

    // A backup code.
    const backup = await api.post('/tokens', { userId: user.body.id, type: 'backup_codes' });
    await assign(backup.body);
    secrets.backupCode = backup.body.backupCodes[0];
    secrets.otherBackupCode = backup.body.backupCodes[1];
    assert.equal((await authenticate({ otp: secrets.backupCode })).body.result, true);

    // An admin invitation: its link carries a one-time token in the path, which request logs show.
    const invitee = `${unique('invitee')}@example.test`;
    await services.admins.invite(tenant.actor, { email: invitee, role: 'admin' });
    const message = await services.db('messages').where({ tenant_id: tenant.tenantId, recipient: invitee }).first('body_text');
    secrets.inviteToken = message.body_text.match(/\/admin\/invite\/([^\s/]+)/)[1];
    assert.equal((await request(app).get(`/admin/invite/${secrets.inviteToken}`)).status, 200);

    const log = lines.join('');
    assert.ok(lines.length > 20, `the flow was logged (${lines.length} lines)`);
    assert.match(log, /"url":"\/api\/v1\/resources\/[^"]+\/authenticate"/, 'request lines are there to search');
    assert.match(log, /"url":"\/admin\/invite\/\[redacted\]"/, 'the invitation request is logged, its token redacted');
    const sid = secrets.sessionCookie.slice(2, secrets.sessionCookie.lastIndexOf('.'));
    const leaks = Object.entries({ ...secrets, sessionId: sid }).filter(([, value]) => value && log.toLowerCase().includes(value.toLowerCase()));
    assert.deepEqual(leaks.map(([name]) => name), [], `secrets found in the logs:\n${leaks.map(([n, v]) => `${n}: ${v}`).join('\n')}`);
  });
});
