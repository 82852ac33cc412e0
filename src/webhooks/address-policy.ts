/**
 * SSRF rules for webhook targets (issue 13 §1). A tenant chooses the URL, our server makes the
 * request: without these rules a webhook could reach the metadata service, the database or
 * anything else on our network. In production a URL must be https and every address its host
 * resolves to must be public; the check runs at delivery time, after DNS, and the request is
 * pinned to the checked address (a second lookup could answer differently: DNS rebinding).
 * WEBHOOK_ALLOW_PRIVATE=true (development and tests) allows local receivers.
 */
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
// IPv4: "this" network, private, carrier-grade NAT (also Alibaba's metadata 100.100.100.200),
// loopback, link-local (cloud metadata 169.254.169.254), IETF protocol assignments, benchmarking,
// documentation, multicast, reserved and broadcast.
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
// IPv6: unspecified, loopback, unique local (AWS metadata fd00:ec2::254), link-local, site-local,
// multicast, documentation, discard-only.
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], ['2001:db8::', 32], ['100::', 64],
] as const) blocked.addSubnet(net, bits, 'ipv6');

/** The IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible or NAT64), if any. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** True for addresses a webhook must not reach in production: loopback, private, link-local, metadata, reserved. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4) return blocked.check(v4, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true; // not an address at all: refuse rather than guess
}

export interface TargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE: http and local addresses allowed (development, tests). */
  allowPrivate: boolean;
}

/** The URL rule alone (no DNS): a problem to show the owner, or undefined when the URL is acceptable. */
export function urlProblem(raw: string, policy: TargetPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'Enter a full URL, such as https://example.com/webhooks.';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'Use an https:// URL.';
  if (!policy.allowPrivate && url.protocol !== 'https:') return 'Use an https:// URL: webhooks carry signed events and are sent over TLS only.';
  if (url.username || url.password) return 'Remove the user name and password from the URL; the signature authenticates us.';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivate && (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) && isForbiddenAddress(host)))) {
    return 'This address is private or local; webhooks go to public addresses only.';
  }
  return undefined;
}
