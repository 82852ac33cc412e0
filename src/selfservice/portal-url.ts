/** The portal's addresses, built from BASE_URL and PORTAL_DOMAIN (pure: no config read here). */
import type { PortalUrls } from './self-service.types';

/**
 * `url` is `{scheme}://{address}.{PORTAL_DOMAIN}{:port}/` when PORTAL_DOMAIN is set, else the path URL.
 * The subdomain URL takes BASE_URL's scheme and (non-default) port, because the portal host is served
 * by the same listener: with BASE_URL=http://localhost:3100 a hard-coded `https://…/` would not answer.
 * A port written in PORTAL_DOMAIN itself wins (a proxy may listen elsewhere than BASE_URL says).
 */
export function buildPortalUrls(baseUrl: string, portalDomain: string | undefined, address: string): PortalUrls {
  const pathUrl = `${baseUrl}/portal/${address}/`;
  if (!portalDomain) return { url: pathUrl, pathUrl };
  const base = new URL(baseUrl);
  // URL.port is '' for the scheme's default port (80 for http, 443 for https).
  const port = /:\d+$/.test(portalDomain) || !base.port ? '' : `:${base.port}`;
  return { url: `${base.protocol}//${address}.${portalDomain}${port}/`, pathUrl };
}
