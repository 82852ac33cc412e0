/**
 * `email` and `sms` tokens prove a code sent by POST /resources/{id}/challenge (SEC-10): the
 * newest open challenge of the token, asked for in this resource, unexpired, unused, at most
 * MAX_CHALLENGE_ATTEMPTS tries.
 *
 * Two atomic statements, not one: the attempt is reserved first (a single UPDATE ... RETURNING,
 * so concurrent guesses cannot exceed the limit), then the HMAC is compared in Node in constant
 * time (its key never enters the database), then a compare-and-set marks the challenge used (of
 * concurrent right codes exactly one wins). No step reads state and writes on the strength of it.
 */
import { CHALLENGE_CODE_DIGITS, type ChallengeCodes } from './challenge-codes';
import { confirmChallenge, reserveChallengeAttempt } from './challenge.repository';
import type { CodeCheck } from './code-checks';

/** Tries per code; the next one is refused even when right (a new code must be asked for). */
export const MAX_CHALLENGE_ATTEMPTS = 5;

const CODE_PATTERN = new RegExp(`^\\d{${CHALLENGE_CODE_DIGITS}}$`);

export function createChallengeCheck(codes: ChallengeCodes): CodeCheck {
  return async (token, code, ctx) => {
    // Not a code this token could have sent: spend no attempt on it (it may be meant for another token).
    if (!CODE_PATTERN.test(code)) return false;
    const challenge = await reserveChallengeAttempt(ctx.db, token.tenantId, token.id, ctx.resourceId ?? null, MAX_CHALLENGE_ATTEMPTS);
    if (!challenge || !codes.matches(challenge.codeHash, challenge.id, code)) return false;
    return confirmChallenge(ctx.db, token.tenantId, challenge.id);
  };
}
