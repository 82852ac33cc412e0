/**
 * The RADIUS connector's packet rules: Message-Authenticator required and verified (RFC 3579,
 * BlastRADIUS), unknown clients and wrong secrets dropped and counted, retransmissions answered
 * from the duplicate cache (RFC 5080 §2.2.2), malformed packets never a crash, no answer while
 * the service is unreachable, and the operator endpoints.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { accessRequest, ask, counted, exchange, radiusStack, totpAt, SECRET, type Connector, type RadiusStack } from '../helpers/radius';
import { startHealthServer } from '../../src/radius/metrics';

/** Rewrites the last attribute (the library puts Message-Authenticator last) with a valid HMAC. */
function resign(packet: Buffer, secret = SECRET): Buffer {
  const p = Buffer.from(packet);
  p.fill(0, p.length - 16);
  createHmac('md5', secret).update(p).digest().copy(p, p.length - 16);
  return p;
}

describe('radius: packets', () => {
  let stack: RadiusStack;
  let otp: Connector;
  before(async () => {
    stack = await radiusStack({ failedAttemptsLimit: 10 });
    otp = await stack.connector('otp');
  });
  after(() => stack.close());

  const member = (userId: string) => stack.ctx.services.db('resource_users').where({ resource_id: stack.resourceId, user_id: userId }).first();
  const checks = async (userId: string) => (await stack.ctx.services.db('audit_events').where({ tenant_id: stack.tenant.tenantId, action: 'authenticate', target_id: userId })).length;

  it('a request without Message-Authenticator, or with a wrong one, is dropped unanswered and unchecked', async () => {
    const user = await stack.user();
    const attrs: Array<[string, string]> = [['User-Name', user.login], ['User-Password', totpAt()]];
    assert.equal(await ask(otp.port, attrs, { messageAuthenticator: false, timeoutMs: 500 }), null);
    assert.equal(await ask(otp.port, attrs, { messageAuthenticator: 'wrong', timeoutMs: 500 }), null);
    assert.equal(await checks(user.id), 0, 'the service was not asked');
    assert.equal(await counted(otp, 'no_message_authenticator'), 1);
    assert.equal(await counted(otp, 'bad_authenticator'), 1);
    assert.equal((await ask(otp.port, attrs))?.code, 'Access-Accept', 'the same code still works: it was not spent');
  });

  it('a wrong shared secret is dropped unanswered and counted', async () => {
    const user = await stack.user();
    const before = await counted(otp, 'bad_authenticator');
    assert.equal(await ask(otp.port, [['User-Name', user.login], ['User-Password', totpAt()]], { secret: 'another-secret-of-16+chars', timeoutMs: 500 }), null);
    assert.equal(await counted(otp, 'bad_authenticator'), before + 1);
    assert.equal(await checks(user.id), 0);
  });

  it('a request from an address that is not a client is dropped unanswered and counted', async () => {
    const only10 = await stack.connector('otp', { RADIUS_CLIENTS: `10.0.0.0/8:${SECRET}` });
    const user = await stack.user();
    assert.equal(await ask(only10.port, [['User-Name', user.login], ['User-Password', totpAt()]], { timeoutMs: 500 }), null);
    assert.equal(await counted(only10, 'unknown_client'), 1);
    assert.equal(await checks(user.id), 0);
  });

  it('a retransmission gets the same answer and is checked once: a wrong code counts one failure, a right code is not burnt', async () => {
    const user = await stack.user();
    const wrong = accessRequest([['User-Name', user.login], ['User-Password', '000000']], { identifier: 7 });
    const [a, b, c] = await exchange(otp.port, [wrong, wrong, wrong]);
    assert.equal(a?.code, 'Access-Reject');
    assert.ok(a!.raw.equals(b!.raw) && a!.raw.equals(c!.raw), 'byte-identical answers');
    assert.equal((await member(user.id)).fail_count, 1, 'one failure counted, not three');

    const right = accessRequest([['User-Name', user.login], ['User-Password', totpAt()]], { identifier: 8 });
    const [d, e] = await exchange(otp.port, [right, right]);
    assert.equal(d?.code, 'Access-Accept');
    assert.equal(e?.code, 'Access-Accept', 'the retry of an accepted request is accepted too, not refused as a replay');
    assert.equal(await checks(user.id), 2, 'two checks in the service for five datagrams');
    assert.ok((await counted(otp, 'duplicate')) >= 3);
  });

  it('the same identifier with a new Request Authenticator is a new request, not a retransmission', async () => {
    const user = await stack.user();
    const first = accessRequest([['User-Name', user.login], ['User-Password', '000000']], { identifier: 9 });
    const second = accessRequest([['User-Name', user.login], ['User-Password', '000000']], { identifier: 9 });
    await exchange(otp.port, [first]);
    await exchange(otp.port, [second]);
    assert.equal(await checks(user.id), 2);
  });

  it('malformed packets (truncated, wrong lengths, bad attributes, other codes, garbage) are dropped and the connector keeps answering', async () => {
    const user = await stack.user();
    const good = accessRequest([['User-Name', user.login], ['User-Password', '000000']]);
    const longer = Buffer.from(good);
    longer.writeUInt16BE(good.length + 10, 2);
    const shorter = Buffer.from(good);
    shorter.writeUInt16BE(19, 2);
    const zeroAttr = resign(Buffer.concat([good.subarray(0, 20), Buffer.from([1, 0]), good.subarray(20)]));
    zeroAttr.writeUInt16BE(zeroAttr.length, 2);
    const overflowing = Buffer.from(good);
    overflowing[21] = 250; // User-Name claims more octets than the packet has
    const badPassword = accessRequest([['User-Name', user.login], [2 as unknown as string, Buffer.alloc(5)]]); // User-Password not a multiple of 16
    const accounting = Buffer.from(good);
    accounting[0] = 4;
    const twoAuthenticators = accessRequest([['User-Name', user.login], ['User-Password', '000000'], ['Message-Authenticator', Buffer.alloc(16)]], { messageAuthenticator: false });
    const cases = [Buffer.alloc(0), Buffer.from([1]), good.subarray(0, 19), good.subarray(0, good.length - 3), longer, shorter, zeroAttr, overflowing, resign(badPassword), accounting, twoAuthenticators, Buffer.alloc(5000, 1)];
    for (let i = 0; i < 200; i++) cases.push(randomBytes(1 + (i % 120)));
    for (let i = 0; i < 100; i++) {
      // Valid headers around random attributes: the parser's hardest input.
      const p = Buffer.concat([Buffer.from([1, i, 0, 0]), randomBytes(16), randomBytes(i % 60)]);
      p.writeUInt16BE(p.length, 2);
      cases.push(p);
    }
    const before = await counted(otp, 'malformed');
    assert.deepEqual(await exchange(otp.port, cases, { timeoutMs: 800 }).then((r) => r.filter(Boolean).length), 0, 'no answer to any of them');
    assert.ok((await counted(otp, 'malformed')) - before >= 9);
    assert.equal(await checks(user.id), 0);
    assert.equal((await ask(otp.port, [['User-Name', user.login], ['User-Password', totpAt()]]))?.code, 'Access-Accept', 'still answering');
  });

  it('unknown attributes are ignored: the request is answered', async () => {
    const user = await stack.user();
    const reply = await ask(otp.port, [['User-Name', user.login], ['User-Password', totpAt()], [250 as unknown as string, Buffer.from('vendor stuff')], ['NAS-Identifier', 'vpn-1']]);
    assert.equal(reply?.code, 'Access-Accept');
  });

  it('while the service is unreachable there is no answer (the NAS fails over), and a retry is checked again', async () => {
    const down = await stack.connector('otp', { RADIUS_API_URL: 'http://127.0.0.1:9', RADIUS_API_TIMEOUT_MS: '500' });
    const user = await stack.user();
    const request = accessRequest([['User-Name', user.login], ['User-Password', totpAt()]]);
    assert.deepEqual(await exchange(down.port, [request], { timeoutMs: 1000 }), [null]);
    assert.deepEqual(await exchange(down.port, [request], { timeoutMs: 1000 }), [null]);
    assert.equal(await counted(down, 'unavailable'), 2, 'the retry was tried again, not answered from the cache');
  });

  it('serves /healthz and /metrics on its HTTP port', async () => {
    const server = await startHealthServer(otp.metrics, 0, '127.0.0.1');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /mfa_radius_requests_total\{result="accept"\} \d+/);
      assert.match(metrics, /mfa_radius_requests_total\{result="malformed"\} \d+/);
      assert.equal((await fetch(`${base}/other`)).status, 404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
