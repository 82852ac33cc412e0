/** Request and session shapes shared by the web surfaces. */
import type { Actor } from '../audit/actor';
import type { Admin } from '../admins/admin.types';
import type { PortalResource } from '../selfservice/self-service.repository';

declare module 'express-session' {
  interface SessionData {
    createdAt: number;
    /** Set once password and TOTP both succeeded. */
    adminId?: string;
    tenantId?: string;
    /** Password done, TOTP pending (SEC-18: reaches nothing but the TOTP step). */
    pendingAdmin?: { adminId: string; tenantId: string; enrolled: boolean; sealedSecret?: string; startedAt: number };
    flash?: { kind: 'success' | 'error'; text: string };
    /** Plain API key shown exactly once after creation. */
    revealApiKey?: { name: string; plain: string };
    /** A webhook endpoint's signing secret, shown exactly once after creation or rotation. */
    revealWebhookSecret?: { endpointId: string; secret: string };
    /** A new token's otpauth URI or backup codes, sealed, until its one-time page is shown. */
    revealToken?: { tokenId: string; sealed: string };
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      actor?: Actor;
      admin?: Admin;
      requestId?: string;
      /** The portal this request was resolved to, and its base path (`/portal/{address}/` or `/`). */
      portal?: { resource: PortalResource; base: string };
    }
  }
}

export {};
