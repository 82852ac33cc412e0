/** Issue 15 §8: the portal's subdomain URL follows BASE_URL's scheme and non-default port. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildPortalUrls } from '../../src/selfservice/portal-url';

describe('portal urls', () => {
  it('without PORTAL_DOMAIN both are the path URL', () => {
    assert.deepEqual(buildPortalUrls('http://localhost:3100', undefined, 'pay'), { url: 'http://localhost:3100/portal/pay/', pathUrl: 'http://localhost:3100/portal/pay/' });
  });
  it('keeps a non-default port and the http scheme of BASE_URL', () => {
    assert.equal(buildPortalUrls('http://localhost:3100', 'localhost', 'pay').url, 'http://pay.localhost:3100/');
    assert.equal(buildPortalUrls('https://mfa.example.com:8443', 'example.com', 'pay').url, 'https://pay.example.com:8443/');
  });
  it('omits default ports', () => {
    assert.equal(buildPortalUrls('https://mfa.example.com', 'mfa.example.com', 'pay').url, 'https://pay.mfa.example.com/');
    assert.equal(buildPortalUrls('http://mfa.example.com:80', 'mfa.example.com', 'pay').url, 'http://pay.mfa.example.com/');
    assert.equal(buildPortalUrls('https://mfa.example.com:443', 'mfa.example.com', 'pay').url, 'https://pay.mfa.example.com/');
  });
  it('a port written in PORTAL_DOMAIN wins over BASE_URL\'s', () => {
    assert.equal(buildPortalUrls('http://localhost:3100', 'portal.test:8080', 'pay').url, 'http://pay.portal.test:8080/');
  });
});
