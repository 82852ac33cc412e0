/**
 * Change Email / Change Phone in the portal (SPEC §5.3): the new address gets a 6-digit code
 * (email, or SMS for a phone) and replaces the old one only once that code is confirmed; then
 * the old address and the new one are told. A pending change is bound to the user and the
 * resource; codes are stored as HMACs (SEC-10), expire after 10 minutes, allow 5 guesses, and
 * go out at most once a minute and a few times an hour. Every step needs the action enabled and
 * a recent second factor (SEC-14), checked here whatever the route did, and is audited.
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db/knex';
import { NotFoundError, RateLimitedError, ValidationError } from '../lib/errors';
import { parseInput } from '../lib/validation';
import { recordAudit } from '../audit/audit.repository';
import type { MessageService } from '../outbox/message.service';
import { findUser, updateUser } from '../users/user.repository';
import { userFieldsSchema, type User } from '../users/user.types';
import type { ChallengeCodes } from '../validation/challenge-codes';
import type { AllowedAction } from '../selfservice/self-service.types';
import { prepareNotice } from './notify';
import { actorOf, requireAction, requireFreshSecondFactor, type PortalUser } from './portal-user';
import * as repo from './contact-change.repository';
import type { ContactKind, PendingChange } from './contact-change.repository';

export type { ContactKind, PendingChange };

export interface ContactChangePolicy {
  ttlSeconds: number;
  attempts: number;
  /** At most one code per this many seconds... */
  resendSeconds: number;
  /** ...and at most this many an hour, per user, resource and kind. */
  perHour: number;
}

export const DEFAULT_CONTACT_CHANGE_POLICY: ContactChangePolicy = { ttlSeconds: 600, attempts: 5, resendSeconds: 60, perHour: 5 };

export const CODE_WRONG = 'That code is not right, or it has expired. Check it, or ask for a new code.';
export const RESEND_TOO_SOON = 'We sent a code less than a minute ago. Wait a minute, then ask for a new one.';

const ACTION: Record<ContactKind, AllowedAction> = { email: 'change_email', phone: 'change_phone' };
const NOUN: Record<ContactKind, string> = { email: 'email address', phone: 'phone number' };
const SCHEMA = { email: userFieldsSchema.pick({ email: true }), phone: userFieldsSchema.pick({ phone: true }) };

export type ContactChanges = ReturnType<typeof createContactChanges>;

export function createContactChanges(db: Db, messages: MessageService, codes: ChallengeCodes, policy: ContactChangePolicy = DEFAULT_CONTACT_CHANGE_POLICY) {
  const minutes = Math.round(policy.ttlSeconds / 60);
  const owner = (u: PortalUser, kind: ContactKind) => ({ tenantId: u.portal.tenantId, resourceId: u.portal.id, userId: u.userId, kind });
  const audit = (q: Queryable, u: PortalUser, kind: ContactKind, action: string, details: Record<string, unknown>, result: 'success' | 'failure' = 'success') =>
    recordAudit(q, actorOf(u), { action: `portal.profile.${kind}_change${action}`, targetType: 'user', targetId: u.userId, resourceId: u.portal.id, result, details });

  async function guard(u: PortalUser, kind: ContactKind): Promise<void> {
    requireAction(u, ACTION[kind]);
    await requireFreshSecondFactor(db, u);
  }

  function codeMessage(u: PortalUser, kind: ContactKind, to: string, code: string) {
    if (kind === 'phone') {
      return { channel: 'sms' as const, recipient: to, subject: `Confirm your phone number for ${u.portal.name} (SMS)`, bodyText: `${code} is your code to confirm this phone number for ${u.portal.name}. It expires in ${minutes} minutes.` };
    }
    return {
      channel: 'email' as const,
      recipient: to,
      subject: `Confirm your new email address for ${u.portal.name}`,
      bodyText: [`Your code to confirm this email address for ${u.portal.name} is:`, '', `    ${code}`, '', `It expires in ${minutes} minutes and works once.`, 'If you did not ask for this, ignore this message.'].join('\n'),
    };
  }

  /** Sends a fresh code for `value`, replacing any open change of this kind; throttled. */
  async function send(u: PortalUser, kind: ContactKind, value: string): Promise<void> {
    const o = owner(u, kind);
    const dispatch = await db.transaction(async (trx) => {
      // Serialise this user's sends so the throttles hold under concurrent requests.
      await trx.raw('SELECT 1 FROM users WHERE tenant_id = ? AND id = ? FOR NO KEY UPDATE', [o.tenantId, o.userId]);
      if ((await repo.codesSentWithin(trx, o, policy.resendSeconds)) > 0) throw new RateLimitedError(RESEND_TOO_SOON);
      if ((await repo.codesSentWithin(trx, o, 3600)) >= policy.perHour) throw new RateLimitedError('Too many codes were sent in the last hour. Try again later.');
      await repo.retireOpen(trx, o);
      const id = randomUUID();
      const code = codes.newCode();
      await repo.insertChange(trx, o, { id, newValue: value, codeHash: codes.hash(id, code), ttlSeconds: policy.ttlSeconds });
      const { dispatch } = await messages.prepare(trx, u.portal.tenantId, codeMessage(u, kind, value, code));
      await audit(trx, u, kind, '.code_sent', { to: value });
      return dispatch;
    });
    await dispatch();
  }

  /** Tells the old address (if any) and the new one, in the transaction of the change. */
  async function notices(trx: Queryable, u: PortalUser, kind: ContactKind, before: User, after: User): Promise<Array<() => Promise<void>>> {
    const where = `your account at ${u.portal.name}`;
    if (kind === 'email') {
      return [
        await prepareNotice(trx, messages, u.portal.tenantId, before.email, { subject: 'Your email address was changed', lines: [`The email address of ${where} was changed. Messages now go to the new address, not to this one.`] }),
        await prepareNotice(trx, messages, u.portal.tenantId, after.email, { subject: 'Your email address was changed', lines: [`This is now the email address of ${where}.`] }),
      ];
    }
    const sms = async (to: string, text: string) => (await messages.prepare(trx, u.portal.tenantId, { channel: 'sms', recipient: to, subject: `Phone number changed (${u.portal.name})`, bodyText: `${text} If this was not you, contact your administrator at once.` })).dispatch;
    const out = [await sms(after.phone!, `This is now the phone number of ${where}.`)];
    if (before.phone) out.push(await sms(before.phone, `The phone number of ${where} was changed to another number.`));
    out.push(await prepareNotice(trx, messages, u.portal.tenantId, after.email, { subject: 'Your phone number was changed', lines: [`The phone number of ${where} was changed.`] }));
    return out;
  }

  return {
    /** The open change of this kind, if any, for the page to ask for its code. */
    async pending(u: PortalUser, kind: ContactKind): Promise<PendingChange | undefined> {
      requireAction(u, ACTION[kind]);
      return repo.findOpen(db, owner(u, kind), policy.attempts);
    },

    /** Step 1: validates the new address and sends it a code. The address is not changed yet. */
    async request(u: PortalUser, kind: ContactKind, raw: string): Promise<string> {
      await guard(u, kind);
      if (!raw.trim()) throw new ValidationError({ [kind]: `Enter your new ${NOUN[kind]}.` });
      const parsed = parseInput(SCHEMA[kind], { [kind]: raw.trim() }) as Record<ContactKind, string>;
      const value = parsed[kind];
      const user = await findUser(db, u.portal.tenantId, u.userId);
      if (!user) throw new NotFoundError('Your account');
      if (user[kind] === value) throw new ValidationError({ [kind]: `This is already your ${NOUN[kind]}.` });
      await send(u, kind, value);
      return value;
    },

    /** "Send a new code" for the open change; false when there is none any more. */
    async resend(u: PortalUser, kind: ContactKind): Promise<boolean> {
      await guard(u, kind);
      const open = await repo.findOpen(db, owner(u, kind), policy.attempts);
      if (!open) return false;
      await send(u, kind, open.newValue);
      return true;
    },

    /** Step 2: the code sent to the new address. On a match the address changes and both addresses are told. */
    async confirm(u: PortalUser, kind: ContactKind, typed: string): Promise<User> {
      await guard(u, kind);
      const code = typed.replace(/\s+/g, '');
      if (!/^\d{6}$/.test(code)) throw new ValidationError({ code: 'Enter the 6-digit code we sent you.' });
      const o = owner(u, kind);
      const open = await repo.reserveAttempt(db, o, policy.attempts);
      if (!open || !codes.matches(open.codeHash, open.id, code)) {
        await audit(db, u, kind, '', { reason: open ? 'wrong_code' : 'no_open_change' }, 'failure');
        throw new ValidationError({ code: CODE_WRONG });
      }
      const { user, dispatches } = await db.transaction(async (trx) => {
        if (!(await repo.markUsed(trx, o.tenantId, open.id))) throw new ValidationError({ code: CODE_WRONG });
        const before = await findUser(trx, o.tenantId, o.userId);
        if (!before) throw new NotFoundError('Your account');
        const after = (await updateUser(trx, o.tenantId, o.userId, { [kind]: open.newValue }))!;
        await audit(trx, u, kind, '', { from: before[kind], to: after[kind] });
        return { user: after, dispatches: await notices(trx, u, kind, before, after) };
      });
      for (const dispatch of dispatches) await dispatch();
      return user;
    },

    /** Drops the open change of this kind (its code stops working). */
    async cancel(u: PortalUser, kind: ContactKind): Promise<void> {
      requireAction(u, ACTION[kind]);
      await db.transaction(async (trx) => {
        if ((await repo.retireOpen(trx, owner(u, kind))) > 0) await audit(trx, u, kind, '.cancelled', {});
      });
    },
  };
}
