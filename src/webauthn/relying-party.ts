/**
 * The relying party of a WebAuthn ceremony, from the request the browser made (SPEC §5.1: a
 * portal is reached by `{address}.{PORTAL_DOMAIN}` or by `{BASE_URL}/portal/{address}/`). The RP
 * ID is the request's host name, the expected origin its scheme, host and port. WebAuthn refuses
 * IP addresses as RP IDs, so those get a clear refusal; in production only the BASE_URL host and
 * portal hosts under PORTAL_DOMAIN are accepted, over HTTPS (a forged Host header cannot choose
 * the RP ID a key is bound to).
 */
import { isIP } from 'node:net';
import { BadRequestError } from '../lib/errors';
import type { RelyingParty } from './webauthn.types';

export interface RelyingPartyPolicy {
  isProduction: boolean;
  baseUrl: string;
  portalDomain?: string;
}

/** What the request says about itself (Express: req.protocol, req.host, req.hostname; proxies per trust proxy). */
export interface RequestOrigin {
  protocol: string;
  /** Host with port, as the browser sent it. */
  host: string;
  hostname: string;
}

const withoutPort = (host: string) => host.replace(/:\d+$/, '');

export function relyingPartyOf(req: RequestOrigin, policy: RelyingPartyPolicy): RelyingParty {
  const rpID = (req.hostname ?? '').toLowerCase().replace(/^\[|\]$/g, '');
  if (!rpID || isIP(rpID)) {
    throw new BadRequestError('Security keys work only when this portal is opened by its domain name, not by an IP address.');
  }
  if (policy.isProduction) {
    const baseHost = new URL(policy.baseUrl).hostname.toLowerCase();
    const portalDomain = policy.portalDomain ? withoutPort(policy.portalDomain) : undefined;
    const allowed = rpID === baseHost || (portalDomain !== undefined && rpID.endsWith(`.${portalDomain}`));
    if (!allowed || req.protocol !== 'https') throw new BadRequestError('Security keys are not available at this address. Open the portal from its usual address.');
  }
  return { rpID, origin: `${req.protocol}://${req.host.toLowerCase()}` };
}
