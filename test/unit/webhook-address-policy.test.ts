/** SSRF rules of webhook targets (issue 13 §1): the address checker and the URL rule. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { isForbiddenAddress, urlProblem } from '../../src/webhooks/address-policy';
import { generateSecret, signatureHeader, signPayload } from '../../src/webhooks/signature';

describe('webhooks: forbidden target addresses', () => {
  it('refuses IPv4 loopback, private, link-local, metadata, CGNAT, unspecified, multicast and broadcast', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.254', '192.168.1.10', '169.254.169.254', '169.254.0.1', '100.64.0.1', '100.100.100.200', '0.0.0.0', '224.0.0.1', '255.255.255.255', '198.18.0.1']) {
      assert.equal(isForbiddenAddress(a), true, a);
    }
  });

  it('allows public IPv4 addresses, including the neighbours of private ranges', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '192.169.0.1', '100.63.255.255', '11.0.0.1', '169.253.255.255']) {
      assert.equal(isForbiddenAddress(a), false, a);
    }
  });

  it('refuses IPv6 loopback, unspecified, unique-local (AWS metadata fd00:ec2::254), link-local and multicast', () => {
    for (const a of ['::1', '::', 'fd00::1', 'fd00:ec2::254', 'fc00::5', 'fe80::1', 'fe80::abcd:1234', 'ff02::1', '2001:db8::1']) {
      assert.equal(isForbiddenAddress(a), true, a);
    }
  });

  it('looks through IPv4-mapped, IPv4-compatible and NAT64 IPv6 addresses', () => {
    for (const a of ['::ffff:127.0.0.1', '::ffff:169.254.169.254', '::ffff:10.1.2.3', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::10.0.0.1', '::127.0.0.1']) {
      assert.equal(isForbiddenAddress(a), true, a);
    }
    assert.equal(isForbiddenAddress('::ffff:8.8.8.8'), false);
    assert.equal(isForbiddenAddress('::ffff:808:808'), false);
  });

  it('allows public IPv6 addresses and refuses what is not an address', () => {
    assert.equal(isForbiddenAddress('2606:4700:4700::1111'), false);
    assert.equal(isForbiddenAddress('2a00:1450:4001:80b::200e'), false);
    assert.equal(isForbiddenAddress('not-an-ip'), true);
  });
});

describe('webhooks: the URL rule', () => {
  const production = { allowPrivate: false };
  const development = { allowPrivate: true };

  it('production requires https and refuses literal private hosts and localhost', () => {
    assert.match(urlProblem('http://hooks.example.com/x', production)!, /https/);
    assert.equal(urlProblem('https://hooks.example.com/x', production), undefined);
    for (const u of ['https://127.0.0.1/x', 'https://[::1]/x', 'https://169.254.169.254/latest/meta-data', 'https://localhost:8443/', 'https://api.localhost/', 'https://10.0.0.8/', 'https://[::ffff:127.0.0.1]/']) {
      assert.match(urlProblem(u, production)!, /private or local/, u);
    }
  });

  it('development (WEBHOOK_ALLOW_PRIVATE) accepts http and local receivers', () => {
    assert.equal(urlProblem('http://127.0.0.1:9999/hook', development), undefined);
    assert.equal(urlProblem('http://localhost/hook', development), undefined);
  });

  it('refuses other schemes, credentials in the URL and text that is no URL', () => {
    assert.match(urlProblem('ftp://example.com/', development)!, /https/);
    assert.match(urlProblem('file:///etc/passwd', development)!, /https/);
    assert.match(urlProblem('https://user:pw@example.com/', production)!, /user name and password/);
    assert.match(urlProblem('example.com/hook', development)!, /full URL/);
  });
});

describe('webhooks: Standard Webhooks signature', () => {
  it('is v1, + base64 HMAC-SHA256 of id.timestamp.body keyed with the decoded secret', () => {
    const secret = generateSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
    const expected = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update('msg_1.1700000000.{"a":1}').digest('base64');
    assert.equal(signPayload(secret, 'msg_1', 1700000000, '{"a":1}'), `v1,${expected}`);
  });

  it('the Standard Webhooks reference vector', () => {
    // From the specification's test suite (standard-webhooks/libraries).
    const sig = signPayload('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('sends one signature per valid secret, space-separated', () => {
    const a = generateSecret();
    const b = generateSecret();
    const header = signatureHeader([a, b], 'id', 1, 'body');
    assert.deepEqual(header.split(' '), [signPayload(a, 'id', 1, 'body'), signPayload(b, 'id', 1, 'body')]);
  });
});
