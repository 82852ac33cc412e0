/**
 * The portal's token self-service actions (SPEC §5.3): unassign, synchronise, configure the PIN,
 * assign an existing token (the user's own from another resource, or a hardware token claimed from
 * stock by serial + code) and reissue a seed. Rules every method enforces, whatever the route:
 * - the action is enabled for the portal (403), the tenant and user come from the session;
 * - a token acted on is owned by the user and (except when assigning) assigned to this resource,
 *   else 404 (another user's token looks like no token at all);
 * - adding, replacing or removing a factor, and the PIN, need a recent second factor when the user
 *   has a token here, and notify the user (SEC-14);
 * - every change is audited in its transaction, with the notice row (dispatched after commit).
 * Decisions where the spec is silent: disabled tokens cannot be synchronised, reissued, given a
 * PIN or assigned (SEC-15), but can be removed; a pending reissued seed expires after 10 minutes;
 * assigning a token does not depend on the portal's enrollment types (those govern new tokens).
 */
import type { Db, Queryable } from '../db/knex';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { hashPassword } from '../lib/passwords';
import type { SecretBox } from '../lib/secret-box';
import { parseInput } from '../lib/validation';
import { recordAudit } from '../audit/audit.repository';
import type { MessageService } from '../outbox/message.service';
import type { Limit, RateLimiter } from '../rate-limits/rate-limiter';
import { findResource } from '../resources/resource.repository';
import type { Resource } from '../resources/resource.types';
import { findUser } from '../users/user.repository';
import { generateSeed, otpauthUri } from '../otp/otp-engine';
import { countUserTokensInResource, deleteTokenResource, insertTokenResource, updateToken } from '../tokens/token.repository';
import { openSeed, sealSeed } from '../tokens/token-seed';
import type { TokenService } from '../tokens/token.service';
import { OATH_TYPES, oathParams, pinSchema, type Token, type TokenType } from '../tokens/token.types';
import { checkOathCode, matchOathCode } from '../validation/code-checks';
import { prepareNotice, type Notice } from './notify';
import { actorOf, requireAction, requireFreshSecondFactor, type PortalUser } from './portal-user';
import * as repo from './token-actions.repository';

export const UNASSIGN_LAST_REFUSED = 'This portal requires a second factor; enroll another token before removing this one.';
export const CLAIM_FAILED = 'That serial number and code do not match a token you can claim. Check both and try again.';
export const SYNC_FAILED = 'These codes do not match two consecutive codes of this token. Enter the next two codes it shows.';
export const REISSUE_CODE_FAILED = 'That code does not match the new key. Enter the code your app shows for the new entry.';
export const REISSUE_EXPIRED = 'This new key has expired or was replaced. Start the reissue again.';

/** Token types with a typed code a PIN can precede or follow (see validation/pin.ts). */
export const PIN_TYPES: readonly TokenType[] = ['totp', 'hotp', 'hardware', 'email', 'sms'];
export const REISSUE_TYPES: readonly TokenType[] = ['totp', 'hotp'];
export const PENDING_SEED_MS = 10 * 60_000;

/** Claims by serial + code guess at codes: few per user and per serial, shared by every process. */
export const CLAIM_LIMITS = { perUser: { name: 'portal-claim-user', max: 10, windowSeconds: 900 }, perSerial: { name: 'portal-claim-serial', max: 10, windowSeconds: 900 } } satisfies Record<string, Limit>;
export const REISSUE_CONFIRM_LIMIT: Limit = { name: 'portal-reissue-confirm', max: 10, windowSeconds: 900 };

export interface TokenActionsDeps {
  db: Db;
  secrets: SecretBox;
  messages: MessageService;
  tokens: TokenService;
  limiter: RateLimiter;
  issuer?: string;
}

export type TokenActionsService = ReturnType<typeof createTokenActionsService>;

const label = (t: Pick<Token, 'name' | 'serial'>) => (t.name ? `${t.name} (${t.serial})` : t.serial);
const onlyDigits = (v: string) => v.replace(/\s+/g, '');

export function createTokenActionsService({ db, secrets, messages, tokens, limiter, issuer = 'MFA Service' }: TokenActionsDeps) {
  async function resourceOf(u: PortalUser): Promise<Resource> {
    const resource = await findResource(db, u.portal.tenantId, u.portal.id);
    if (!resource) throw new NotFoundError('Resource');
    return resource;
  }

  /** The user's token in this resource, or 404. */
  async function ownToken(u: PortalUser, tokenId: string): Promise<repo.OwnToken> {
    const token = await repo.findOwnTokenInResource(db, u.portal.tenantId, u.portal.id, u.userId, tokenId);
    if (!token) throw new NotFoundError('Token');
    return token;
  }

  function requireEnabled(token: Token): void {
    if (!token.enabled) throw new ConflictError('This token is disabled. Ask your administrator.');
  }

  /** Runs `change` in a transaction with the user's notice; sends the notice after commit. */
  async function withNotice<T>(u: PortalUser, notice: Notice, change: (trx: Queryable) => Promise<T>): Promise<T> {
    const { result, dispatch } = await db.transaction(async (trx) => {
      const result = await change(trx);
      const user = await findUser(trx, u.portal.tenantId, u.userId);
      return { result, dispatch: await prepareNotice(trx, messages, u.portal.tenantId, user?.email ?? null, notice) };
    });
    await dispatch();
    return result;
  }

  return {
    /** Removes the user's token from this resource; never their last enabled one where a second factor is required. */
    async unassign(u: PortalUser, tokenId: string): Promise<Token> {
      requireAction(u, 'unassign_token');
      await requireFreshSecondFactor(db, u);
      const token = await ownToken(u, tokenId);
      const resource = await resourceOf(u);
      const lines = [`The token ${label(token)} was removed from ${resource.name} through its self-service portal.`];
      return withNotice(u, { subject: 'A token was removed', lines }, async (trx) => {
        // Serialise the user's token changes here so two removals cannot both pass the check.
        if (!(await repo.lockMembership(trx, u.portal.tenantId, u.portal.id, u.userId))) throw new NotFoundError('Token');
        if (resource.requireSecondFactor && token.enabled && (await repo.countOtherEnabledTokens(trx, u.portal.tenantId, u.portal.id, u.userId, token.id)) === 0) {
          throw new ConflictError(UNASSIGN_LAST_REFUSED);
        }
        if (!(await deleteTokenResource(trx, u.portal.tenantId, token.id, u.portal.id))) throw new NotFoundError('Token');
        await repo.recordRelease(trx, u.portal.tenantId, token.id, u.portal.id, u.userId);
        await recordAudit(trx, actorOf(u), { action: 'resource.token.unassign', targetType: 'token', targetId: token.id, resourceId: u.portal.id, details: { serial: token.serial, via: 'portal' } });
        return token;
      });
    },

    /** Two consecutive codes re-align an OATH token (the token service's resync: throttled per token, SEC-06). */
    async sync(u: PortalUser, tokenId: string, code1: string, code2: string): Promise<Token> {
      requireAction(u, 'sync_token');
      const token = await ownToken(u, tokenId);
      if (!OATH_TYPES.includes(token.type)) throw new ValidationError({ tokenId: 'Only authenticator app, counter-based and hardware tokens can be synchronised.' });
      requireEnabled(token);
      const [a, b] = [onlyDigits(code1), onlyDigits(code2)];
      if (!/^\d{6,8}$/.test(a) || !/^\d{6,8}$/.test(b)) throw new ValidationError({ code1: 'Enter two consecutive codes from the token (6 or 8 digits each).' });
      const resource = await resourceOf(u);
      // SEC-08: a locked user gets the answer of wrong codes, and the token is left as it is.
      if (await repo.isLockedIn(db, u.portal.tenantId, u.portal.id, u.userId, resource.failedAttemptsLimit)) {
        await recordAudit(db, actorOf(u), { action: 'token.resync', targetType: 'token', targetId: token.id, resourceId: u.portal.id, result: 'failure', details: { serial: token.serial, reason: 'locked', via: 'portal' } });
        throw new ValidationError({ code1: SYNC_FAILED });
      }
      try {
        return await tokens.resync(actorOf(u), token.id, a, b);
      } catch (err) {
        if (err instanceof ValidationError) throw new ValidationError({ code1: SYNC_FAILED });
        throw err;
      }
    },

    /** Sets or changes the token's PIN (the admin PIN rules: 4-12 digits). Never echoed or logged. */
    async setPin(u: PortalUser, tokenId: string, input: { pin: unknown; pinConfirm: unknown }): Promise<Token> {
      requireAction(u, 'configure_pin');
      await requireFreshSecondFactor(db, u);
      const token = await ownToken(u, tokenId);
      if (!PIN_TYPES.includes(token.type)) throw new ValidationError({ tokenId: 'This kind of token takes no PIN.' });
      requireEnabled(token);
      const { pin } = parseInput(pinSchema, { pin: input.pin });
      if (input.pinConfirm !== pin) throw new ValidationError({ pinConfirm: 'The two PINs do not match.' });
      const pinHash = await hashPassword(pin);
      const lines = [`The PIN of your token ${label(token)} was ${token.hasPin ? 'changed' : 'set'} through the self-service portal of ${u.portal.name}. From now on, type it together with the code.`];
      return withNotice(u, { subject: 'Your PIN was changed', lines }, async (trx) => {
        const updated = await updateToken(trx, u.portal.tenantId, token.id, { pin_hash: pinHash });
        if (!updated) throw new NotFoundError('Token');
        await recordAudit(trx, actorOf(u), { action: 'token.pin.set', targetType: 'token', targetId: token.id, resourceId: u.portal.id, details: { serial: token.serial, via: 'portal' } });
        return updated;
      });
    },

    async removePin(u: PortalUser, tokenId: string): Promise<Token> {
      requireAction(u, 'configure_pin');
      await requireFreshSecondFactor(db, u);
      const token = await ownToken(u, tokenId);
      if (!token.hasPin) throw new ValidationError({ tokenId: 'This token has no PIN.' });
      const lines = [`The PIN of your token ${label(token)} was removed through the self-service portal of ${u.portal.name}.`];
      return withNotice(u, { subject: 'Your PIN was changed', lines }, async (trx) => {
        const updated = await updateToken(trx, u.portal.tenantId, token.id, { pin_hash: null });
        if (!updated) throw new NotFoundError('Token');
        await recordAudit(trx, actorOf(u), { action: 'token.pin.clear', targetType: 'token', targetId: token.id, resourceId: u.portal.id, details: { serial: token.serial, via: 'portal' } });
        return updated;
      });
    },

    /** The user's own tokens from other resources they could bring here. */
    assignable: (u: PortalUser) => repo.listAssignableOwnTokens(db, u.portal.tenantId, u.portal.id, u.userId),

    /** Assigns one of the user's own tokens (from another resource of theirs) to this resource. */
    async assignOwn(u: PortalUser, tokenId: string): Promise<Token> {
      requireAction(u, 'assign_token');
      await requireFreshSecondFactor(db, u);
      const [token] = await repo.listAssignableOwnTokens(db, u.portal.tenantId, u.portal.id, u.userId, tokenId);
      if (!token) throw new NotFoundError('Token');
      return addHere(u, token, false);
    },

    /**
     * Claims an enabled hardware token from the tenant's stock: the serial and a current code must
     * match (the replay-safe OATH check consumes the code). An unknown serial, a token that is not
     * in stock and a wrong code give the same answer (no enumeration of serials); attempts are
     * counted per user and per serial, and a user locked here is answered the same way.
     */
    async claimHardware(u: PortalUser, serialInput: string, codeInput: string): Promise<Token> {
      requireAction(u, 'assign_token');
      await requireFreshSecondFactor(db, u);
      const serial = serialInput.trim();
      const code = onlyDigits(codeInput);
      const errors: Record<string, string> = {};
      if (!serial || serial.length > 64) errors.serial = 'Enter the serial number printed on the token.';
      if (!/^\d{6,8}$/.test(code)) errors.code = 'Enter the code the token shows now (6 or 8 digits).';
      if (Object.keys(errors).length) throw new ValidationError(errors);
      const tenantId = u.portal.tenantId;
      await limiter.consume([
        { limit: CLAIM_LIMITS.perUser, subject: `${tenantId}:${u.userId}` },
        { limit: CLAIM_LIMITS.perSerial, subject: `${tenantId}:${serial.toLowerCase()}` },
      ]);
      const resource = await resourceOf(u);
      await requireRoomFor(u, resource);
      const stock = await repo.findStockHardwareBySerial(db, tenantId, serial);
      const locked = await repo.isLockedIn(db, tenantId, u.portal.id, u.userId, resource.failedAttemptsLimit);
      const ok = Boolean(stock && !locked && (await checkOathCode(stock, code, { db, secrets, totpWindow: resource.totpWindow, nowMs: Date.now() })));
      if (!stock || !ok) {
        const reason = !stock ? 'unknown_serial' : locked ? 'locked' : 'wrong_code';
        await recordAudit(db, actorOf(u), { action: 'portal.token.claim', targetType: 'token', targetId: stock?.id, resourceId: u.portal.id, result: 'failure', details: { serial, reason } });
        throw new ValidationError({ code: CLAIM_FAILED }, CLAIM_FAILED);
      }
      return addHere(u, stock, true);
    },

    /** Tokens of the user with a pending reissued seed still to be confirmed. */
    pendingReissues: (u: PortalUser) => repo.listPendingReissues(db, u.portal.tenantId, u.userId, PENDING_SEED_MS),

    /** Makes a new seed for a totp/hotp token, kept pending (sealed) until proven; shown to the caller once. */
    async startReissue(u: PortalUser, tokenId: string): Promise<{ token: Token; uri: string; manualKey: string }> {
      requireAction(u, 'reissue_token');
      await requireFreshSecondFactor(db, u);
      const token = await ownToken(u, tokenId);
      const params = oathParams(token);
      if (!REISSUE_TYPES.includes(token.type) || !params) throw new ValidationError({ tokenId: 'Only authenticator app and counter-based tokens can be reissued.' });
      requireEnabled(token);
      const seed = generateSeed();
      const { seed_sealed: sealed } = sealSeed(secrets, token.id, seed);
      await db.transaction(async (trx) => {
        await repo.setPendingSeed(trx, u.portal.tenantId, token.id, sealed);
        await recordAudit(trx, actorOf(u), { action: 'token.reissue.start', targetType: 'token', targetId: token.id, resourceId: u.portal.id, details: { serial: token.serial } });
      });
      const user = await findUser(db, u.portal.tenantId, u.userId);
      const uri = otpauthUri({ account: user?.login ?? token.serial, issuer, seed, params, counter: params.kind === 'hotp' ? 0 : undefined });
      const manualKey = (new URL(uri).searchParams.get('secret') ?? '').replace(/(.{4})/g, '$1 ').trim();
      return { token, uri, manualKey };
    },

    /**
     * Proves the pending seed with a code from it, then makes it the token's seed in one
     * compare-and-set statement: the old seed works until this commits and never after.
     */
    async confirmReissue(u: PortalUser, tokenId: string, codeInput: string): Promise<Token> {
      requireAction(u, 'reissue_token');
      const token = await ownToken(u, tokenId);
      requireEnabled(token);
      const code = onlyDigits(codeInput);
      if (!/^\d{6,8}$/.test(code)) throw new ValidationError({ code: 'Enter the code your app shows for the new entry (6 or 8 digits).' });
      const pending = token.pendingSeedSealed;
      if (!pending || !token.pendingSeedAt || Date.now() - new Date(token.pendingSeedAt).getTime() > PENDING_SEED_MS) throw new ValidationError({ code: REISSUE_EXPIRED }, REISSUE_EXPIRED);
      await limiter.consume([{ limit: REISSUE_CONFIRM_LIMIT, subject: `${u.portal.tenantId}:${token.id}` }]);
      const resource = await resourceOf(u);
      const fresh = { ...token, seedSealed: pending, drift: 0, totpLastStep: null, hotpCounter: 0 };
      const claim = matchOathCode(fresh, code, { secrets, totpWindow: resource.totpWindow, nowMs: Date.now() });
      if (!claim) {
        await recordAudit(db, actorOf(u), { action: 'token.reissue', targetType: 'token', targetId: token.id, resourceId: u.portal.id, result: 'failure', details: { serial: token.serial, reason: 'wrong_code' } });
        throw new ValidationError({ code: REISSUE_CODE_FAILED });
      }
      // Re-sealed under the active key with its key id (the pending ciphertext may predate a rotation).
      const sealed = sealSeed(secrets, token.id, openSeed(secrets, token.id, pending));
      const next = claim.kind === 'hotp' ? { hotp_counter: claim.counter + 1, totp_last_step: null, drift: 0 } : { hotp_counter: 0, totp_last_step: claim.step, drift: claim.drift };
      const lines = [`Your token ${label(token)} was reissued through the self-service portal of ${u.portal.name}. Codes from the old key no longer work.`];
      return withNotice(u, { subject: 'Your token was reissued', lines }, async (trx) => {
        if (!(await repo.promotePendingSeed(trx, u.portal.tenantId, token.id, pending, { ...sealed, ...next }))) throw new ValidationError({ code: REISSUE_EXPIRED }, REISSUE_EXPIRED);
        await recordAudit(trx, actorOf(u), { action: 'token.reissue', targetType: 'token', targetId: token.id, resourceId: u.portal.id, details: { serial: token.serial } });
        return token;
      });
    },
  };

  /** 409 when the user already has the resource's maximum of tokens (checked again under the lock). */
  async function requireRoomFor(u: PortalUser, resource: Resource, q: Queryable = db): Promise<void> {
    if ((await countUserTokensInResource(q, u.portal.tenantId, u.userId, resource.id)) >= resource.maxTokensPerUser) {
      throw new ConflictError(`You already have the maximum of ${resource.maxTokensPerUser} token(s) in this portal.`);
    }
  }

  /** Assigns `token` here (after taking it from stock when `fromStock`), within the token limit; audited, notified. */
  async function addHere(u: PortalUser, token: Token, fromStock: boolean): Promise<Token> {
    const resource = await resourceOf(u);
    const lines = [`The token ${label(token)} was added to ${resource.name} through its self-service portal. It now works for signing in there.`];
    return withNotice(u, { subject: 'A token was added', lines }, async (trx) => {
      if (!(await repo.lockMembership(trx, u.portal.tenantId, u.portal.id, u.userId))) throw new NotFoundError('Token');
      await requireRoomFor(u, resource, trx);
      if (fromStock && !(await repo.takeFromStock(trx, u.portal.tenantId, token.id, u.userId))) throw new ValidationError({ code: CLAIM_FAILED }, CLAIM_FAILED);
      if (!(await insertTokenResource(trx, u.portal.tenantId, token.id, u.portal.id))) throw new ConflictError('This token is already in this portal.');
      await repo.clearRelease(trx, u.portal.tenantId, token.id, u.portal.id);
      await recordAudit(trx, actorOf(u), { action: fromStock ? 'portal.token.claim' : 'resource.token.assign', targetType: 'token', targetId: token.id, resourceId: u.portal.id, details: { serial: token.serial, via: 'portal' } });
      return token;
    });
  }
}

