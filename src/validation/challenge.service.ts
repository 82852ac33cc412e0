/**
 * POST /resources/{id}/challenge (SPEC §2 email/sms, §3; SEC-07, SEC-08, SEC-10, SEC-22): sends a
 * fresh 6-digit code to each email/SMS token the user has in the resource.
 *
 * Every processed request gets the same answer, `{status: "sent"}`, whether a code went out or
 * not: unknown, unassigned, blocked or locked user, no email/SMS token, no address, throttled.
 * So the endpoint tells a caller nothing about who exists or has which factor. Throttling is
 * silent for the same reason (a 429 only for real users would enumerate them); the code already
 * sent stays valid while a resend is throttled. The audit log keeps the real reason.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Db, Queryable } from '../db/knex';
import { NotFoundError } from '../lib/errors';
import { parseInput } from '../lib/validation';
import { withMinimumDuration } from '../lib/timing';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import type { MessageService } from '../outbox/message.service';
import type { NewMessage } from '../outbox/message.repository';
import { findResource } from '../resources/resource.repository';
import type { Resource } from '../resources/resource.types';
import { tokensForCheck } from '../tokens/token.repository';
import type { TokenSecretRow } from '../tokens/token.types';
import { loginSchema } from './authenticate.service';
import type { ChallengeCodes } from './challenge-codes';
import * as repo from './challenge.repository';

export const challengeRequestSchema = z.object({ login: loginSchema }).strict();

export interface ChallengePolicy {
  /** Lifetime of a code (SPEC §2: 5 minutes). */
  ttlSeconds: number;
  /** At most one code per token in this many seconds. */
  resendSeconds: number;
  /** At most this many codes per user and hour, over all their tokens (SEC-07). */
  hourlyCapPerUser: number;
}

/** Every processed request takes at least this long, whether or not a code went out (see lib/timing.ts). */
export const CHALLENGE_PADDING_MS = 120;

export const DEFAULT_CHALLENGE_POLICY: ChallengePolicy = { ttlSeconds: 300, resendSeconds: 30, hourlyCapPerUser: 10 };

/** The one answer of every processed request (SEC-22). */
export const CHALLENGE_ANSWER = Object.freeze({ status: 'sent' as const });
export type ChallengeAnswer = typeof CHALLENGE_ANSWER;

type Reason = 'sent' | 'unknown_user' | 'blocked' | 'locked' | 'no_token' | 'no_address' | 'throttled';

const CHALLENGE_TYPES = new Set(['email', 'sms']);

function messageFor(token: TokenSecretRow, recipient: string, code: string, resource: Resource, minutes: number): NewMessage {
  if (token.type === 'sms') {
    return { channel: 'sms', recipient, subject: `Verification code for ${resource.name} (SMS)`, bodyText: `${code} is your ${resource.name} verification code. It expires in ${minutes} minutes.` };
  }
  return {
    channel: 'email',
    recipient,
    subject: `Your verification code for ${resource.name}`,
    bodyText: [
      `Your verification code for ${resource.name} is:`,
      '',
      `    ${code}`,
      '',
      `It expires in ${minutes} minutes and works once.`,
      'If you did not try to sign in, ignore this message and tell your administrator.',
    ].join('\n'),
  };
}

export type ChallengeService = ReturnType<typeof createChallengeService>;

export function createChallengeService(db: Db, messages: MessageService, codes: ChallengeCodes, policy: ChallengePolicy = DEFAULT_CHALLENGE_POLICY) {
  const minutes = Math.round(policy.ttlSeconds / 60);

  /**
   * Creates the challenges and their messages in one transaction (a code exists only if its message
   * does), serialised per user so the throttle and the cap hold under concurrent requests.
   * Returns the serials of the tokens a code was sent for, and the dispatches to run after commit.
   */
  async function issue(actor: Actor, resource: Resource, member: repo.ChallengeMember, tokens: TokenSecretRow[], audit: (q: Queryable, reason: Reason, serials: string[]) => Promise<void>) {
    const dispatches: Array<() => Promise<void>> = [];
    const serials = await db.transaction(async (trx) => {
      await repo.lockUserForSend(trx, actor.tenantId, member.id);
      const sent: string[] = [];
      let throttled = false;
      for (const token of tokens) {
        const recipient = token.type === 'email' ? member.email : member.phone;
        if (!recipient) continue;
        if (
          (await repo.sentWithin(trx, actor.tenantId, token.id, policy.resendSeconds)) ||
          (await repo.countSentToUser(trx, actor.tenantId, member.id, 3600)) >= policy.hourlyCapPerUser
        ) {
          throttled = true;
          continue;
        }
        await repo.invalidateOpenChallenges(trx, actor.tenantId, token.id);
        const id = randomUUID();
        const code = codes.newCode();
        await repo.insertChallenge(trx, { id, tenantId: actor.tenantId, tokenId: token.id, resourceId: resource.id, codeHash: codes.hash(id, code), ttlSeconds: policy.ttlSeconds });
        const { dispatch } = await messages.prepare(trx, actor.tenantId, messageFor(token, recipient, code, resource, minutes));
        dispatches.push(dispatch);
        sent.push(token.serial);
      }
      await audit(trx, sent.length ? 'sent' : throttled ? 'throttled' : 'no_address', sent);
      return sent;
    });
    for (const dispatch of dispatches) await dispatch();
    return serials;
  }

  /** The work of `request` once the resource is known: every branch answers CHALLENGE_ANSWER. */
  async function answer(actor: Actor, resource: Resource, login: string): Promise<ChallengeAnswer> {
    const member = await repo.findChallengeMember(db, actor.tenantId, resource.id, login, resource.failedAttemptsLimit);

    const audit = (q: Queryable, reason: Reason, serials: string[] = []) =>
      recordAudit(q, actor, {
        action: 'challenge.request',
        targetType: 'user',
        targetId: member?.id,
        resourceId: resource.id,
        result: reason === 'sent' ? 'success' : 'failure',
        details: { login, reason, ...(serials.length ? { tokens: serials } : {}) },
      });

    if (!member || member.blocked || member.locked) {
      await audit(db, !member ? 'unknown_user' : member.blocked ? 'blocked' : 'locked');
      return CHALLENGE_ANSWER;
    }
    const tokens = (await tokensForCheck(db, actor.tenantId, resource.id, member.id)).filter((t) => CHALLENGE_TYPES.has(t.type));
    if (tokens.length === 0) {
      await audit(db, 'no_token');
      return CHALLENGE_ANSWER;
    }
    await issue(actor, resource, member, tokens, audit);
    return CHALLENGE_ANSWER;
  }

  return {
    /**
     * Sends a code for each of the user's enabled email/SMS tokens in a resource of the actor's
     * tenant. Throws only for a malformed body (422) or an unknown resource (404); otherwise
     * answers CHALLENGE_ANSWER. Audited as `challenge.request` (never with the code). Asking for
     * a code is not an attempt: the fail counter is read (a locked user gets nothing), never changed.
     */
    async request(actor: Actor, resourceId: string, input: unknown): Promise<ChallengeAnswer> {
      const { login } = parseInput(challengeRequestSchema, input);
      const resource = await findResource(db, actor.tenantId, resourceId);
      if (!resource || resource.disabled) throw new NotFoundError('Resource');
      // Only some requests write and queue codes: pad so that work does not show (SEC-22).
      return withMinimumDuration(CHALLENGE_PADDING_MS, () => answer(actor, resource, login));
    },
  };
}
