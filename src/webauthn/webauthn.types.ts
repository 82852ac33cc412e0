/**
 * WebAuthn shapes shared by enrolment and sign-in (SPEC §2 `webauthn`, SEC-26): the relying
 * party a ceremony runs for, the challenge kept in the session between the options and the
 * answer, and the browser's answers as we accept them (checked in shape before the library).
 */
import { z } from 'zod';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';

/** Where a ceremony happens: the RP ID (a domain, never an IP) and the exact page origin. */
export interface RelyingParty {
  rpID: string;
  origin: string;
}

/** A ceremony in progress, kept server-side in the portal session; used once. */
export interface PendingCeremony extends RelyingParty {
  purpose: 'register' | 'authenticate';
  /** base64url, as generated with the options. */
  challenge: string;
  createdAt: number;
}

/** A ceremony must be finished within this long (the browser's own timeout is the same). */
export const CEREMONY_MS = 2 * 60_000;

export function isFresh(pending: PendingCeremony | undefined, purpose: PendingCeremony['purpose'], nowMs = Date.now()): pending is PendingCeremony {
  return Boolean(pending && pending.purpose === purpose && nowMs - pending.createdAt <= CEREMONY_MS);
}

const b64url = z.string().min(1).max(16_384).regex(/^[A-Za-z0-9_-]+={0,2}$/);
const extensions = z.looseObject({});

export const registrationResponseSchema = z.looseObject({
  id: b64url,
  rawId: b64url,
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64url,
    attestationObject: b64url,
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  authenticatorAttachment: z.string().max(32).optional(),
  clientExtensionResults: extensions.default({}),
});

export const authenticationResponseSchema = z.looseObject({
  id: b64url,
  rawId: b64url,
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
  authenticatorAttachment: z.string().max(32).optional(),
  clientExtensionResults: extensions.default({}),
});

export const enrollInputSchema = z.object({
  name: z.string({ error: 'Use text for the name.' }).trim().max(100, 'Use at most 100 characters.').optional(),
  response: registrationResponseSchema,
});

export function parseAssertion(value: unknown): AuthenticationResponseJSON | undefined {
  const parsed = authenticationResponseSchema.safeParse(value);
  return parsed.success ? (parsed.data as unknown as AuthenticationResponseJSON) : undefined;
}
