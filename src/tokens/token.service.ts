/**
 * Token rules (SPEC §2 Token, §3): creation of each type (seeds generated or imported, sealed at
 * rest, URI shown once), ownership and resource assignment, enable/disable, PIN, resync, drift,
 * deletion, and the admin "is this code valid" check. Every change is audited in its transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../db/knex';
import { isUniqueViolation } from '../db/errors';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../lib/errors';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { hashPassword } from '../lib/passwords';
import type { SecretBox } from '../lib/secret-box';
import { parseInput } from '../lib/validation';
import { randomToken } from '../lib/crypto';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import { requireWriter } from '../admins/permissions';
import { isLimited, requireResourceInScope, requireTokenInScope, requireWholeTenant, tokenInScope, userInScope, type Scope } from '../admins/resource-scope';
import type { Queryable } from '../db/knex';
import { mustFindResource } from '../resources/resource-lookup';
import { findUser } from '../users/user.repository';
import type { Limit, RateLimiter } from '../rate-limits/rate-limiter';
import { generateSeed, otpauthUri, parseSeed, secretEncoding, syncHotp, syncTotp } from '../otp/otp-engine';
import type { CodeChecks } from '../validation/code-checks';
import { issueBackupCodes } from './backup-codes';
import { openSeed, sealSeed } from './token-seed';
import * as repo from './token.repository';
import { assignTokenToResource } from './token-assignment';
import { oathParams, pinSchema, tokenCreateSchema, tokenPatchSchema, type Token, type TokenListFilter, type TokenType } from './token.types';

export interface CreatedToken {
  token: Token;
  /** Only for generated seeds, only now (SEC-03). */
  otpauthUri?: string;
  /** Only for backup_codes, only now (SEC-13). */
  backupCodes?: string[];
}

const SERIAL_PREFIX: Record<Exclude<TokenType, 'webauthn'>, string> = { totp: 'TOTP', hotp: 'HOTP', hardware: 'HW', email: 'EMAIL', sms: 'SMS', backup_codes: 'BACKUP' };

/** A new token's serial: the kind, then 8 random characters (portal enrolment names tokens after it). */
export function newSerial(type: Exclude<TokenType, 'webauthn'>): string {
  return `${SERIAL_PREFIX[type]}-${randomToken(6).replace(/[-_]/g, 'X').toUpperCase().slice(0, 8)}`;
}

/**
 * Imported secrets: hex with a `hex:` prefix or when the text is an even run of hex digits, else
 * base32 (SEC-02: ≥ 128 bits). A random hex seed may lack 0/1/8/9 (1 in 10^5 for 20 bytes) and
 * must still be read as hex; a random base32 seed of ≥ 26 characters using only A-F and 2-7 is a
 * 1 in 10^11 event, so "all hex digits" is the safer rule.
 */
function importedSeed(secret: string): Buffer {
  try {
    const { encoding, body } = secretEncoding(secret);
    return parseSeed(body, encoding);
  } catch (err) {
    throw new ValidationError({ secret: (err as Error).message });
  }
}

export interface CreateOptions {
  /** false: created inactive (a portal enrolment enables it once proven). Default: enabled. */
  enabled?: boolean;
  /** Runs inside the creating transaction, after the insert; a throw rolls the creation back. */
  within?: (trx: Knex.Transaction, token: Token) => Promise<void>;
  /**
   * Assigns the new token to this resource in the same transaction (same rules as assignToResource).
   * Required for a limited admin: a token outside their resources would vanish from their sight.
   */
  resourceId?: string;
}

export type TokenService = ReturnType<typeof createTokenService>;

/**
 * Resync searches far (HOTP 1000 counters, TOTP ±1 day), so unthrottled it would be an oracle for
 * guessing codes: attempts per token are capped, shared by every process (SEC-06).
 */
export const RESYNC_LIMIT: Limit = { name: 'token-resync', max: 10, windowSeconds: 900 };

export function createTokenService(db: Db, secrets: SecretBox, checks: CodeChecks, limiter: RateLimiter, issuer = 'MFA Service') {
  /** The token, or NotFound for another tenant's token and one outside a limited admin's scope. */
  async function mustFind(scope: Scope, id: string, q: Queryable = db): Promise<Token> {
    const token = await repo.findToken(q, scope.tenantId, id);
    if (!token || !(await tokenInScope(q, scope, token.id))) throw new NotFoundError('Token');
    return token;
  }

  async function change(actor: Actor, id: string, action: string, patch: Record<string, unknown>, details: Record<string, unknown> = {}): Promise<Token> {
    requireWriter(actor);
    return db.transaction(async (trx) => {
      await requireTokenInScope(trx, actor, id);
      const token = await repo.updateToken(trx, actor.tenantId, id, patch);
      if (!token) throw new NotFoundError('Token');
      await recordAudit(trx, actor, { action, targetType: 'token', targetId: id, details: { serial: token.serial, ...details } });
      return token;
    });
  }

  return {
    get: (scope: Scope, id: string) => mustFind(scope, id),

    /** The scope's tokens. The hardware stock is tenant-wide: NotFound for a limited admin. */
    async list(scope: Scope, filter: TokenListFilter, page: PageRequest): Promise<Page<repo.TokenListItem>> {
      if (filter.status === 'stock') requireWholeTenant(scope, 'Hardware stock');
      const { items, total } = await repo.listTokens(db, scope, filter, page);
      return toPage(items, total, page);
    },

    /**
     * Creates a token of any type but webauthn (enrolled in the portal). Audited. `options.enabled`
     * false creates it inactive (portal enrolment, until proven); `options.within` runs in the
     * creating transaction (e.g. resource assignment), so both commit or neither.
     */
    async create(actor: Actor, input: unknown, options: CreateOptions = {}): Promise<CreatedToken> {
      requireWriter(actor);
      const data = parseInput(tokenCreateSchema, input);
      const type = data.type;
      const isOath = type === 'totp' || type === 'hotp' || type === 'hardware';
      if (!isOath && (data.secret || data.algorithm || data.digits || data.period || data.counter !== undefined)) {
        throw new ValidationError({ type: `A ${type} token takes no secret or OATH settings.` });
      }
      if ((type === 'totp' && data.counter !== undefined) || (type === 'hotp' && data.period) || (data.period && data.counter !== undefined)) {
        throw new ValidationError({ counter: 'Send a period for a TOTP token or a counter for an HOTP token, not both.' });
      }
      if (type === 'hardware' && !data.secret) throw new ValidationError({ secret: 'A hardware token needs the secret (seed) from its vendor.' });
      const owner = data.userId ? await findUser(db, actor.tenantId, data.userId) : undefined;
      if (data.userId && (!owner || !(await userInScope(db, actor, owner.id)))) throw new NotFoundError('User');
      if (isLimited(actor) && (!owner || !options.resourceId)) {
        const message = 'Choose the owner and one of your resources for this token: you manage only the tokens of your resources.';
        throw new ValidationError({ [owner ? 'resourceId' : 'userId']: message }, message);
      }
      const resource = options.resourceId ? await mustFindResource(db, actor, options.resourceId) : undefined;
      if ((type === 'email' || type === 'sms' || type === 'backup_codes') && !owner) throw new ValidationError({ userId: `A ${type} token belongs to a user: send userId.` });
      if (type === 'email' && !owner!.email) throw new ValidationError({ userId: 'This user has no email address.' });
      if (type === 'sms' && !owner!.phone) throw new ValidationError({ userId: 'This user has no phone number.' });

      const id = randomUUID();
      const row: Record<string, unknown> = { id, tenant_id: actor.tenantId, user_id: owner?.id ?? null, type, serial: data.serial ?? newSerial(type), name: data.name ?? '' };
      if (options.enabled === false) row.enabled = false;
      let uri: string | undefined;
      if (isOath) {
        const kind = type === 'hardware' ? (data.period ? 'totp' : data.counter !== undefined ? 'hotp' : 'totp') : type;
        const seed = data.secret ? importedSeed(data.secret) : generateSeed();
        Object.assign(row, { otp_kind: kind, algorithm: data.algorithm ?? 'SHA1', digits: data.digits ?? 6, period: kind === 'totp' ? data.period ?? 30 : null, hotp_counter: data.counter ?? 0 }, sealSeed(secrets, id, seed));
        if (!data.secret) {
          const params = kind === 'totp' ? { kind, algorithm: row.algorithm, digits: row.digits, period: row.period } : { kind, algorithm: row.algorithm, digits: row.digits };
          uri = otpauthUri({ account: owner?.login ?? String(row.serial), issuer, seed, params: params as never, counter: kind === 'hotp' ? Number(row.hotp_counter) : undefined });
        }
      }
      try {
        return await db.transaction(async (trx) => {
          const token = await repo.insertToken(trx, row);
          const backupCodes = type === 'backup_codes' ? await issueBackupCodes(trx, actor.tenantId, id) : undefined;
          await recordAudit(trx, actor, { action: 'token.create', targetType: 'token', targetId: id, details: { serial: token.serial, type, imported: Boolean(data.secret), userId: owner?.id } });
          if (resource) await assignTokenToResource(trx, actor, resource, token);
          if (options.within) await options.within(trx, token);
          return { token, otpauthUri: uri, backupCodes };
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError('Another token already has this serial.', { serial: 'Another token already has this serial.' });
        throw err;
      }
    },

    async update(actor: Actor, id: string, input: unknown): Promise<Token> {
      requireWriter(actor);
      const data = parseInput(tokenPatchSchema, input);
      const patch: Record<string, unknown> = {};
      if (data.name !== undefined) patch.name = data.name;
      if (data.enabled !== undefined) patch.enabled = data.enabled;
      if (data.userId !== undefined) {
        if (data.userId && (!(await findUser(db, actor.tenantId, data.userId)) || !(await userInScope(db, actor, data.userId)))) throw new NotFoundError('User');
        patch.user_id = data.userId;
      }
      return db.transaction(async (trx) => {
        const current = await mustFind(actor, id, trx);
        if (isLimited(actor) && data.userId !== undefined && data.userId !== current.userId) {
          // A new owner takes the token out of its resources, so out of this admin's sight at once.
          throw new ForbiddenError('A new owner takes the token out of its resources, and so out of yours: ask an owner or an admin for all resources to change it.');
        }
        // A token that changes hands leaves its resources: they were granted to the old owner.
        // Re-sending the same owner changes nothing (it must not silently unassign the token).
        if (data.userId !== undefined && current.userId !== data.userId) await repo.deleteTokenResourcesOf(trx, actor.tenantId, id);
        const token = await repo.updateToken(trx, actor.tenantId, id, patch);
        if (!token) throw new NotFoundError('Token');
        await recordAudit(trx, actor, { action: 'token.update', targetType: 'token', targetId: id, details: { serial: token.serial, fields: Object.keys(data) } });
        return token;
      });
    },

    setEnabled: (actor: Actor, id: string, enabled: boolean) => change(actor, id, enabled ? 'token.enable' : 'token.disable', { enabled }),

    async setPin(actor: Actor, id: string, input: unknown): Promise<Token> {
      const { pin } = parseInput(pinSchema, input);
      return change(actor, id, 'token.pin.set', { pin_hash: await hashPassword(pin) });
    },

    clearPin: (actor: Actor, id: string) => change(actor, id, 'token.pin.clear', { pin_hash: null }),
    resetFailures: (actor: Actor, id: string) => change(actor, id, 'token.failures.reset', { fail_count: 0 }),
    resetDrift: (actor: Actor, id: string) => change(actor, id, 'token.drift.reset', { drift: 0 }),

    /** Re-aligns an OATH token from two consecutive codes (SPEC §3 Synchronisation, SEC-06). */
    async resync(actor: Actor, id: string, code1: string, code2: string): Promise<Token> {
      requireWriter(actor);
      const token = await repo.findTokenSecret(db, actor.tenantId, id);
      if (!token || !(await tokenInScope(db, actor, token.id))) throw new NotFoundError('Token');
      const params = oathParams(token);
      if (!params || !token.seedSealed) throw new BadRequestError('Only TOTP, HOTP and hardware tokens can be synchronised.');
      if (!/^\d+$/.test(code1.trim()) || !/^\d+$/.test(code2.trim())) throw new ValidationError({ code1: 'Enter two consecutive codes from the token.' });
      await limiter.consume([{ limit: RESYNC_LIMIT, subject: `${actor.tenantId}:${token.id}` }]);
      const seed = openSeed(secrets, token.id, token.seedSealed);
      let patch: Record<string, unknown> | undefined;
      if (params.kind === 'hotp') {
        const next = syncHotp(seed, params, code1.trim(), code2.trim(), token.hotpCounter);
        if (next !== null) patch = { hotp_counter: next };
      } else {
        const found = syncTotp(seed, params, code1.trim(), code2.trim(), Date.now(), undefined, token.totpLastStep);
        if (found) patch = { totp_last_step: found.step, drift: found.drift };
      }
      if (!patch) {
        await recordAudit(db, actor, { action: 'token.resync', targetType: 'token', targetId: id, result: 'failure', details: { serial: token.serial } });
        throw new ValidationError({ code1: 'These codes do not match two consecutive codes of this token. Enter the next two codes it shows.' });
      }
      return change(actor, id, 'token.resync', { ...patch, fail_count: 0 });
    },

    async remove(actor: Actor, id: string): Promise<void> {
      requireWriter(actor);
      await db.transaction(async (trx) => {
        const token = await mustFind(actor, id, trx);
        if (!(await repo.deleteToken(trx, actor.tenantId, id))) throw new NotFoundError('Token');
        await recordAudit(trx, actor, { action: 'token.delete', targetType: 'token', targetId: id, details: { serial: token.serial, type: token.type } });
      });
    },

    /** Assigns a token to a resource; its owner must be assigned there, and the resource's token limit holds. */
    async assignToResource(actor: Actor, resourceId: string, tokenId: string): Promise<void> {
      requireWriter(actor);
      await db.transaction(async (trx) => {
        const [resource, token] = await Promise.all([mustFindResource(trx, actor, resourceId), mustFind(actor, tokenId, trx)]);
        await assignTokenToResource(trx, actor, resource, token);
      });
    },

    async unassignFromResource(actor: Actor, resourceId: string, tokenId: string): Promise<void> {
      requireWriter(actor);
      requireResourceInScope(actor, resourceId);
      await db.transaction(async (trx) => {
        const token = await mustFind(actor, tokenId, trx);
        if (!(await repo.deleteTokenResource(trx, actor.tenantId, tokenId, resourceId))) throw new NotFoundError('Assignment');
        await recordAudit(trx, actor, { action: 'resource.token.unassign', targetType: 'token', targetId: tokenId, resourceId, details: { serial: token.serial } });
      });
    },

    /** The token's resources, within the scope. */
    resourcesOf: (scope: Scope, tokenId: string) => repo.listResourceIdsOfToken(db, scope, tokenId),
    /** The user's tokens within the scope (a limited admin sees those assigned to their resources). */
    tokensOfUser: (scope: Scope, userId: string) => repo.listTokensOfUser(db, scope, userId),

    /** Admin check "is this code valid for this token now" (consumes the code when valid). Audited. */
    async verify(actor: Actor, tokenId: string, code: unknown): Promise<boolean> {
      // It consumes a valid code and counts a wrong one: a change, so not for auditors.
      requireWriter(actor);
      if (typeof code !== 'string' || code.trim() === '') throw new ValidationError({ otp: 'Send the code to check as a string.' });
      const token = await repo.findTokenSecret(db, actor.tenantId, tokenId);
      if (!token || !(await tokenInScope(db, actor, token.id))) throw new NotFoundError('Token');
      const check = checks[token.type];
      const ok = Boolean(token.enabled && check && (await check(token, code.trim(), { db, secrets, totpWindow: 1, nowMs: Date.now() })));
      if (!ok) await repo.incrementTokenFailures(db, actor.tenantId, [token.id]);
      await recordAudit(db, actor, { action: 'token.verify', targetType: 'token', targetId: tokenId, result: ok ? 'success' : 'failure', details: { serial: token.serial } });
      return ok;
    },
  };
}
