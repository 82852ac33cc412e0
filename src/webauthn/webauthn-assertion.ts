/**
 * WebAuthn as a second factor (SPEC §5.2 step 3, SEC-26): the options for the browser's
 * `navigator.credentials.get()` and the check of its answer. No HTTP, no session, no lock: the
 * caller (portal sign-in) keeps the challenge, counts the attempt and audits the outcome.
 */
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { webauthnLibrary } from './webauthn-library';
import type { Queryable } from '../db/knex';
import * as repo from './webauthn.repository';
import { isFresh, parseAssertion, type PendingCeremony, type RelyingParty } from './webauthn.types';

export interface UserInResource {
  tenantId: string;
  resourceId: string;
  userId: string;
}

/** Options for the user's keys registered for this RP ID, with the ceremony to keep; undefined when they have none here. */
export async function authenticationOptions(q: Queryable, who: UserInResource, rp: RelyingParty): Promise<{ options: PublicKeyCredentialRequestOptionsJSON; pending: PendingCeremony } | undefined> {
  const credentials = (await repo.credentialsForCheck(q, who.tenantId, who.resourceId, who.userId)).filter((c) => c.rpId === rp.rpID);
  if (credentials.length === 0) return undefined;
  const options = await (await webauthnLibrary()).generateAuthenticationOptions({
    rpID: rp.rpID,
    allowCredentials: credentials.map((c) => ({ id: c.credentialId, transports: c.transports })),
    // A second factor after the password: presence is what counts, a PIN on the key is optional.
    userVerification: 'preferred',
    timeout: 120_000,
  });
  return { options, pending: { ...rp, purpose: 'authenticate', challenge: options.challenge, createdAt: Date.now() } };
}

export type AssertionOutcome = { ok: true; tokenId: string; serial: string } | { ok: false; reason: 'no_challenge' | 'malformed' | 'unknown_credential' | 'invalid_assertion' | 'counter_not_advanced' };

/**
 * Checks the browser's answer against the ceremony and the stored key, then records the use
 * (counter compare-and-set). `pending` must already be taken out of the session (single use).
 */
export async function checkAssertion(q: Queryable, who: UserInResource, pending: PendingCeremony | undefined, answer: unknown): Promise<AssertionOutcome> {
  if (!isFresh(pending, 'authenticate')) return { ok: false, reason: 'no_challenge' };
  const response = parseAssertion(answer);
  if (!response) return { ok: false, reason: 'malformed' };
  const credential = await repo.findCredentialForCheck(q, who.tenantId, who.resourceId, who.userId, response.id);
  if (!credential || credential.rpId !== pending.rpID) return { ok: false, reason: 'unknown_credential' };
  let newCounter: number;
  try {
    // The library also refuses a counter that did not move forward when either counter is non-zero.
    const result = await (await webauthnLibrary()).verifyAuthenticationResponse({
      response,
      expectedChallenge: pending.challenge,
      expectedOrigin: pending.origin,
      expectedRPID: pending.rpID,
      credential: { id: credential.credentialId, publicKey: credential.publicKey, counter: credential.signCount, transports: credential.transports },
      requireUserVerification: false,
    });
    if (!result.verified) return { ok: false, reason: 'invalid_assertion' };
    newCounter = result.authenticationInfo.newCounter;
  } catch {
    return { ok: false, reason: 'invalid_assertion' };
  }
  if (!(await repo.recordUse(q, who.tenantId, credential.tokenId, newCounter))) return { ok: false, reason: 'counter_not_advanced' };
  return { ok: true, tokenId: credential.tokenId, serial: credential.serial };
}
