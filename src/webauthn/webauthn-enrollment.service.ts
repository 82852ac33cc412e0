/**
 * Enrolling a security key or passkey in a portal (SPEC §5.3 Enroll Token, SEC-14, SEC-26). Two
 * calls: `options` starts the browser ceremony (the challenge goes back to the caller, who keeps
 * it in the session), `register` checks the answer and stores the key as an active `webauthn`
 * token of the user, assigned to the resource. The registration itself proves the key. Both
 * calls enforce the portal's rules again (type enabled, fresh second factor when the user already
 * has one, max tokens per user). The user's existing keys are excluded, a credential id belongs
 * to one token only, and the change is audited in its transaction and notified after commit.
 */
import { randomUUID } from 'node:crypto';
import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON, VerifiedRegistrationResponse } from '@simplewebauthn/server';
import { webauthnLibrary } from './webauthn-library';
import type { Db, Queryable } from '../db/knex';
import { isUniqueViolation } from '../db/errors';
import { BadRequestError, ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { randomToken } from '../lib/crypto';
import { recordAudit } from '../audit/audit.repository';
import type { MessageService } from '../outbox/message.service';
import { findResource } from '../resources/resource.repository';
import { findUser } from '../users/user.repository';
import { insertToken, insertTokenResource, countUserTokensInResource } from '../tokens/token.repository';
import type { Token } from '../tokens/token.types';
import { defaultWebauthnName } from '../tokens/token-names';
import { actorOf, requireEnrollmentType, requireFreshSecondFactor, type PortalUser } from '../portal-actions/portal-user';
import { prepareNotice } from '../portal-actions/notify';
import * as repo from './webauthn.repository';
import { enrollInputSchema, isFresh, type PendingCeremony, type RelyingParty } from './webauthn.types';

export const NOT_VERIFIED = 'Your security key could not be verified. Try again.';
export const EXPIRED = 'This security key request has expired or was already used. Start again.';

export type WebauthnEnrollment = ReturnType<typeof createWebauthnEnrollment>;

/** A stable, non-personal WebAuthn user handle: the user's id as 16 bytes. */
function userHandle(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));
}

type RegistrationInfo = Extract<VerifiedRegistrationResponse, { verified: true }>['registrationInfo'];

const newSerial = () => `WEBAUTHN-${randomToken(6).replace(/[-_]/g, 'X').toUpperCase().slice(0, 8)}`;

export function createWebauthnEnrollment(db: Db, messages: MessageService) {
  /** The type is enabled and a fresh factor is proven when the user already has one (SEC-14). */
  async function permitted(u: PortalUser): Promise<void> {
    requireEnrollmentType(u, 'webauthn');
    await requireFreshSecondFactor(db, u);
  }

  /** The resource's max tokens per user leaves room for one more. */
  async function room(q: Queryable, u: PortalUser) {
    const [resource, user] = await Promise.all([findResource(q, u.portal.tenantId, u.portal.id), findUser(q, u.portal.tenantId, u.userId)]);
    if (!resource || !user) throw new NotFoundError('Your account');
    if ((await countUserTokensInResource(q, u.portal.tenantId, u.userId, u.portal.id)) >= resource.maxTokensPerUser) {
      throw new ConflictError(`You already have the maximum of ${resource.maxTokensPerUser} token(s) in this portal. Remove one first, or ask your administrator.`);
    }
    return { resource, user };
  }

  /** The verified registration, or undefined for any answer that does not verify (never thrown: the caller says it plainly). */
  async function verify(pending: PendingCeremony, response: RegistrationResponseJSON): Promise<RegistrationInfo | undefined> {
    try {
      const result = await (await webauthnLibrary()).verifyRegistrationResponse({ response, expectedChallenge: pending.challenge, expectedOrigin: pending.origin, expectedRPID: pending.rpID, requireUserVerification: false });
      return result.verified ? result.registrationInfo : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    /** Throws when this user may not add a key now (type disabled 403, step-up, token limit 409). */
    async check(u: PortalUser): Promise<void> {
      await permitted(u);
      await room(db, u);
    },

    /** Starts a registration. Returns the browser's options and the ceremony to keep in the session. */
    async options(u: PortalUser, rp: RelyingParty): Promise<{ options: PublicKeyCredentialCreationOptionsJSON; pending: PendingCeremony }> {
      await permitted(u);
      const { user } = await room(db, u);
      const existing = await repo.credentialsOfUser(db, u.portal.tenantId, u.userId);
      const options = await (await webauthnLibrary()).generateRegistrationOptions({
        rpName: u.portal.name,
        rpID: rp.rpID,
        userName: user.login,
        userID: userHandle(u.userId),
        userDisplayName: [user.firstName, user.lastName].filter(Boolean).join(' ') || user.login,
        attestationType: 'none',
        excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
        timeout: 120_000,
      });
      return { options, pending: { ...rp, purpose: 'register', challenge: options.challenge, createdAt: Date.now() } };
    },

    /**
     * Finishes a registration. `pending` must already be taken out of the session (single use).
     * Throws ValidationError (422) when the answer does not verify; nothing is stored then.
     */
    async register(u: PortalUser, pending: PendingCeremony | undefined, input: unknown): Promise<Token> {
      await permitted(u);
      const parsed = enrollInputSchema.safeParse(input);
      if (!parsed.success) {
        const nameIssue = parsed.error.issues.find((i) => i.path[0] === 'name');
        throw new ValidationError(nameIssue ? { name: nameIssue.message } : { response: NOT_VERIFIED }, nameIssue ? 'Some fields need attention.' : NOT_VERIFIED);
      }
      if (!isFresh(pending, 'register')) throw new BadRequestError(EXPIRED);
      const info = await verify(pending, parsed.data.response as unknown as RegistrationResponseJSON);
      const actor = actorOf(u);
      if (!info) {
        await recordAudit(db, actor, { action: 'portal.token.enroll', targetType: 'user', targetId: u.userId, resourceId: u.portal.id, result: 'failure', details: { type: 'webauthn', reason: 'not_verified' } });
        throw new ValidationError({ response: NOT_VERIFIED }, NOT_VERIFIED);
      }
      const serial = newSerial();
      const attachment = (parsed.data.response as { authenticatorAttachment?: unknown }).authenticatorAttachment;
      const name = parsed.data.name || defaultWebauthnName(serial, attachment, u.visitor.userAgent);
      const { token, dispatch } = await db.transaction(async (trx) => {
        // Serialise this user's enrolments in the resource so the max-tokens check holds.
        await trx.raw('SELECT 1 FROM resource_users WHERE tenant_id = ? AND resource_id = ? AND user_id = ? FOR UPDATE', [u.portal.tenantId, u.portal.id, u.userId]);
        const { user } = await room(trx, u);
        const created = await insertToken(trx, { id: randomUUID(), tenant_id: u.portal.tenantId, user_id: u.userId, type: 'webauthn', serial, name });
        try {
          await repo.insertCredential(trx, {
              tenantId: u.portal.tenantId,
              tokenId: created.id,
              credentialId: info.credential.id,
              publicKey: info.credential.publicKey,
              signCount: info.credential.counter,
              transports: info.credential.transports ?? [],
              aaguid: info.aaguid,
              deviceType: info.credentialDeviceType,
              backedUp: info.credentialBackedUp,
            rpId: pending.rpID,
          });
        } catch (err) {
          if (isUniqueViolation(err)) throw new ConflictError('This security key is already registered. Use another key, or sign in with this one.');
          throw err;
        }
        await insertTokenResource(trx, u.portal.tenantId, created.id, u.portal.id);
        await recordAudit(trx, actor, { action: 'portal.token.enroll', targetType: 'token', targetId: created.id, resourceId: u.portal.id, details: { type: 'webauthn', serial: created.serial, aaguid: info.aaguid } });
        const send = await prepareNotice(trx, messages, u.portal.tenantId, user.email, {
          subject: 'A security key was added',
          lines: [`A security key ("${name}") was added to your account in ${u.portal.name}.`, 'You can now use it to sign in there.'],
        });
        return { token: created, dispatch: send };
      });
      await dispatch();
      return token;
    },
  };
}
