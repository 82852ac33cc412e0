/**
 * What an Access-Request means in each mode, as calls to the validation API. The service decides;
 * this module only maps its verdicts to RADIUS answers and keeps the open challenges.
 *
 * - otp: User-Password is the code (the NAS checked the first factor itself).
 * - password_otp: User-Password is the password followed by the code (its last `otpLength`
 *   characters; a token PIN goes where the resource's PIN position says, inside those characters).
 * - challenge: User-Password is the password; a user with a token gets an Access-Challenge whose
 *   State the next request returns with the code.
 */
import type { ApiClient } from './api-client';
import type { ChallengeStore } from './challenge-store';
import type { RadiusMode } from './config';

export type Decision =
  | { code: 'Access-Accept' }
  | { code: 'Access-Reject'; why: string }
  | { code: 'Access-Challenge'; state: Buffer; replyMessage: string };

export interface AccessInput {
  /** The client the request came from (its configured name): a State is bound to it. */
  client: string;
  userName?: string;
  password?: string;
  state?: Buffer;
}

const SENT_TYPES = new Set(['email', 'sms']);

/** Reply-Message of a challenge: where the code is to be found. */
function prompt(types: string[]): string {
  const sent = types.filter((t) => SENT_TYPES.has(t));
  const app = types.some((t) => !SENT_TYPES.has(t));
  if (sent.length && !app) return `Enter the code sent to you by ${sent.join(' or ').replace('sms', 'SMS')}`;
  if (sent.length) return `Enter the code from your authenticator, or the one sent to you by ${sent.join(' or ').replace('sms', 'SMS')}`;
  return 'Enter the code from your authenticator';
}

export function createAccess(mode: RadiusMode, otpLength: number, api: Pick<ApiClient, 'authenticate' | 'sendCodes'>, challenges: ChallengeStore) {
  const reject = (why: string): Decision => ({ code: 'Access-Reject', why });
  const verdict = (accepted: boolean): Decision => (accepted ? { code: 'Access-Accept' } : reject('refused'));

  async function firstStep(client: string, login: string, password: string): Promise<Decision> {
    const v = await api.authenticate({ login, password, challenge: true });
    if (v.kind === 'accept') return { code: 'Access-Accept' };
    if (v.kind === 'reject') return reject('refused');
    if (v.types.some((t) => SENT_TYPES.has(t))) await api.sendCodes(login);
    const state = challenges.issue(client, login);
    if (!state) return reject('too many open challenges');
    return { code: 'Access-Challenge', state, replyMessage: prompt(v.types) };
  }

  return {
    async decide({ client, userName, password, state }: AccessInput): Promise<Decision> {
      if (!userName || password === undefined) return reject('no User-Name or User-Password');
      if (mode === 'otp') return verdict((await api.authenticate({ login: userName, otp: password })).kind === 'accept');
      if (mode === 'password_otp') {
        if (password.length <= otpLength) return reject('no password before the code');
        const split = password.length - otpLength;
        const v = await api.authenticate({ login: userName, password: password.slice(0, split), otp: password.slice(split) });
        return verdict(v.kind === 'accept');
      }
      if (!state) return firstStep(client, userName, password);
      // The second step: the State proves the password was right moments ago, for this user at this NAS.
      if (!challenges.take(state, client, userName)) return reject('unknown, expired or foreign State');
      let v;
      try {
        v = await api.authenticate({ login: userName, otp: password });
      } catch (err) {
        challenges.reopen(state); // no verdict: the NAS's retry may still use the State
        throw err;
      }
      challenges.done(state);
      return verdict(v.kind === 'accept');
    },
  };
}
