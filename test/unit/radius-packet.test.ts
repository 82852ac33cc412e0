/** The connector's packet checks and configuration, without a network. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import radius from 'radius';
import { parseAccessRequest } from '../../src/radius/packet';
import { findClient, loadRadiusConfig, parseClients, ConfigError } from '../../src/radius/config';
import { createChallengeStore } from '../../src/radius/challenge-store';

const SECRET = 'a-shared-secret-of-the-vpn';

describe('radius: Message-Authenticator check', () => {
  it('refuses a forged Message-Authenticator that the library alone would accept (it compares HMACs as UTF-8 text)', () => {
    // Find a request whose HMAC has a lone continuation byte, and change it to another one: the
    // two HMACs differ, but decode to the same string (each byte becomes U+FFFD).
    for (let attempt = 0; attempt < 1000; attempt++) {
      const packet = radius.encode({ code: 'Access-Request', secret: SECRET, identifier: attempt % 256, attributes: [['User-Name', `u${attempt}`], ['User-Password', '123456']], add_message_authenticator: true });
      const ma = packet.subarray(packet.length - 16);
      for (let i = 0; i < 16; i++) {
        if (ma[i]! < 0x80 || ma[i]! > 0xbf) continue;
        const forged = Buffer.from(packet);
        forged[forged.length - 16 + i] = ma[i] === 0x80 ? 0x81 : 0x80;
        if (forged.subarray(forged.length - 16).toString() !== ma.toString()) continue;
        assert.doesNotThrow(() => radius.decode({ packet: Buffer.from(forged), secret: SECRET }), 'the library accepts the forgery');
        assert.deepEqual(parseAccessRequest(forged, SECRET), { ok: false, reason: 'bad_authenticator' });
        assert.equal(parseAccessRequest(packet, SECRET).ok, true);
        return;
      }
    }
    assert.fail('no suitable HMAC in 1000 packets');
  });

  it('decodes the user name, the hidden password and the State of a valid request', () => {
    const packet = radius.encode({ code: 'Access-Request', secret: SECRET, attributes: [['User-Name', 'alice'], ['User-Password', 'pass 123456'], ['State', Buffer.alloc(16, 1)]], add_message_authenticator: true });
    const parsed = parseAccessRequest(packet, SECRET);
    assert.ok(parsed.ok);
    assert.equal(parsed.request.userName, 'alice');
    assert.equal(parsed.request.password, 'pass 123456');
    assert.deepEqual(parsed.request.state, Buffer.alloc(16, 1));
  });
});

describe('radius: configuration', () => {
  const base = { RADIUS_API_URL: 'https://mfa.example.com/', RADIUS_API_KEY: 'mfa_abcdefgh_0123456789012345678901234567890123456789012', RADIUS_RESOURCE_ID: '6f1c1d8e-2f7a-4c55-9c1e-3b8f1f0e9a11', RADIUS_CLIENTS: `10.0.0.0/8:${SECRET}` };

  it('has the documented defaults', () => {
    const c = loadRadiusConfig(base);
    assert.equal(c.port, 1812);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.mode, 'challenge');
    assert.equal(c.apiUrl, 'https://mfa.example.com');
    assert.equal(c.challengeSeconds, 300);
  });

  it('names every missing or invalid variable in one message', () => {
    assert.throws(() => loadRadiusConfig({}), (e: Error) => e instanceof ConfigError && /RADIUS_API_URL/.test(e.message) && /RADIUS_API_KEY/.test(e.message) && /RADIUS_RESOURCE_ID/.test(e.message) && /RADIUS_CLIENTS/.test(e.message));
    assert.throws(() => loadRadiusConfig({ ...base, RADIUS_MODE: 'pap' }), /RADIUS_MODE: one of otp, password_otp, challenge/);
  });

  it('parses clients: addresses, CIDR blocks, bracketed IPv6; refuses short secrets and bad addresses', () => {
    const clients = parseClients(`192.0.2.7:${SECRET}, 10.0.0.0/8:${SECRET}:with:colons,[2001:db8::/32]:${SECRET}`);
    assert.equal(findClient(clients, '192.0.2.7')?.name, '192.0.2.7');
    assert.equal(findClient(clients, '::ffff:10.1.2.3')?.secret, `${SECRET}:with:colons`);
    assert.equal(findClient(clients, '2001:db8::1')?.name, '2001:db8::/32');
    assert.equal(findClient(clients, '192.0.2.8'), undefined);
    assert.throws(() => parseClients('10.0.0.1:short'), /at least 16 characters/);
    assert.throws(() => parseClients(`vpn.example.com:${SECRET}`), /not an IP address/);
    assert.throws(() => parseClients(`10.0.0.0/33:${SECRET}`), /prefix length/);
    assert.throws(() => parseClients(SECRET), /address-or-CIDR:shared-secret/);
  });
});

describe('radius: open challenges', () => {
  it('a State works once, for its client and user, until it expires', () => {
    const store = createChallengeStore(1000);
    const state = store.issue('nas', 'Alice', 0)!;
    assert.equal(store.take(state, 'other-nas', 'alice', 1), false);
    assert.equal(store.take(state, 'nas', 'bob', 1), false);
    assert.equal(store.take(state, 'nas', 'alice', 1), true, 'logins compare case-insensitively, like the service');
    assert.equal(store.take(state, 'nas', 'alice', 2), false, 'once');
    const late = store.issue('nas', 'alice', 0)!;
    assert.equal(store.take(late, 'nas', 'alice', 1000), false, 'expired');
  });

  it('refuses new challenges past its bound instead of growing without limit', () => {
    const store = createChallengeStore(1000, 2);
    assert.ok(store.issue('nas', 'a', 0));
    assert.ok(store.issue('nas', 'b', 0));
    assert.equal(store.issue('nas', 'c', 0), undefined);
    assert.ok(store.issue('nas', 'c', 1000), 'expired ones are swept to make room');
  });
});

describe('radius: challenge mode without a verdict', () => {
  it('a State whose check got no answer from the service can be used by the retry, and still only once', async () => {
    const { createAccess } = await import('../../src/radius/access');
    const { ApiUnavailableError } = await import('../../src/radius/api-client');
    // The service stand-in: the password step asks for a code; the first code check finds the
    // service unreachable, the next one accepts. (The real service is in the radius-* integration tests.)
    let down = true;
    const api = {
      authenticate: async (body: { otp?: string }) => {
        if (body.otp === undefined) return { kind: 'challenge' as const, types: ['totp'] };
        if (down) throw new ApiUnavailableError('down');
        return { kind: 'accept' as const };
      },
      sendCodes: async () => undefined,
      close: () => undefined,
    };
    const access = createAccess('challenge', 6, api, createChallengeStore(60_000));
    const first = await access.decide({ client: 'nas', userName: 'alice', password: 'pw' });
    assert.equal(first.code, 'Access-Challenge');
    const state = (first as { state: Buffer }).state;
    await assert.rejects(access.decide({ client: 'nas', userName: 'alice', password: '123456', state }), ApiUnavailableError);
    down = false;
    assert.equal((await access.decide({ client: 'nas', userName: 'alice', password: '123456', state })).code, 'Access-Accept');
    assert.equal((await access.decide({ client: 'nas', userName: 'alice', password: '123456', state })).code, 'Access-Reject', 'once');
  });
});
