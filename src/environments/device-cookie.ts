/**
 * The portal's device cookie (SPEC §2 "Trusted environment"): a random 256-bit device id with an
 * HMAC bound to the resource, in an HttpOnly, SameSite=Lax cookie on the portal's own path
 * (Secure in production), for 180 days. A value that is malformed, forged, or minted for another
 * portal reads as no cookie. The server keeps only the SHA-256 of the id (deviceHash).
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { safeEqual, sha256 } from '../lib/crypto';
import { ENVIRONMENT_TTL_DAYS } from './environment.types';

const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url

export function deviceCookieName(secure: boolean): string {
  // Like the session cookie: __Secure- demands HTTPS; __Host- would demand path=/.
  return secure ? '__Secure-mfa.portal.device' : 'mfa.portal.device';
}

export type DeviceCookie = ReturnType<typeof createDeviceCookie>;

/** `secret` is the session secret; the MAC key is derived from it (HKDF) so neither key can stand in for the other. */
export function createDeviceCookie(secret: string, secure: boolean) {
  const name = deviceCookieName(secure);
  const key = Buffer.from(hkdfSync('sha256', secret, 'mfa.portal.device', 'device-cookie-mac-v1', 32));
  const mac = (resourceId: string, id: string) => createHmac('sha256', key).update(`${resourceId}:${id}`).digest('base64url');

  return {
    name,
    newId: (): string => randomBytes(32).toString('base64url'),
    /** What the database stores for a device id. */
    hash: (id: string): string => sha256(id),

    /** The verified device id this request carries for `resourceId`, or undefined. */
    read(req: Request, resourceId: string): string | undefined {
      const raw = (req.cookies as Record<string, unknown> | undefined)?.[name];
      if (typeof raw !== 'string') return undefined;
      const [id, signature, extra] = raw.split('.');
      if (extra !== undefined || !id || !signature || !ID_PATTERN.test(id)) return undefined;
      return safeEqual(signature, mac(resourceId, id)) ? id : undefined;
    },

    /** Sets (or refreshes, sliding its expiry) the cookie on the portal's path. */
    write(res: Response, base: string, resourceId: string, id: string): void {
      res.cookie(name, `${id}.${mac(resourceId, id)}`, { httpOnly: true, sameSite: 'lax', secure, path: base, maxAge: ENVIRONMENT_TTL_DAYS * 86_400_000 });
    },
  };
}
