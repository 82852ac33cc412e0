/** The API's shape of a resource's Self-Service configuration (SPEC §3). */
import { z } from 'zod';
import type { PortalUrls, SelfServiceConfig } from '../selfservice/self-service.types';
import { ALLOWED_ACTIONS, ENROLLMENT_TYPE_IDS } from '../selfservice/self-service.types';

export const selfServiceJson = z.object({
  address: z.string().nullable().describe('null: the portal is deactivated'),
  url: z.string().nullable().describe('The subdomain address when PORTAL_DOMAIN is set (scheme and non-default port of BASE_URL), else the path address; null while deactivated'),
  pathUrl: z.string().nullable().describe('Always the path address ({BASE_URL}/portal/{address}/); null while deactivated'),
  allowedActions: z.array(z.enum(ALLOWED_ACTIONS as [string, ...string[]])),
  enrollmentTokenTypes: z.array(z.enum(ENROLLMENT_TYPE_IDS as [string, ...string[]])),
});
export type SelfServiceJson = z.infer<typeof selfServiceJson>;

export function serializeSelfService(c: SelfServiceConfig, urls: (address: string) => PortalUrls): SelfServiceJson {
  const u = c.address ? urls(c.address) : { url: null, pathUrl: null };
  return { address: c.address, url: u.url, pathUrl: u.pathUrl, allowedActions: c.allowedActions, enrollmentTokenTypes: c.enrollmentTokenTypes };
}
