/**
 * Remove Email / Remove Phone in the portal (issue 15 §7), under the Change Email / Change Phone
 * actions: the user may drop an address where that is safe, and is told why not otherwise:
 * - the email of a user without a password is how they sign in (the emailed code): kept;
 * - an address an email/SMS token of theirs sends its codes to is kept while that token exists
 *   (the token would silently stop working, or, for a second factor, lock them out).
 * Needs the action and a recent second factor (SEC-14) like a change; audited with the change in
 * one transaction; the removed address is told (it may be the owner's only warning).
 */
import type { Db, Queryable } from '../db/knex';
import { ConflictError, NotFoundError, ValidationError } from '../lib/errors';
import { recordAudit } from '../audit/audit.repository';
import type { MessageService } from '../outbox/message.service';
import { findUser, updateUser } from '../users/user.repository';
import type { User } from '../users/user.types';
import type { AllowedAction } from '../selfservice/self-service.types';
import { prepareNotice } from './notify';
import { actorOf, requireAction, requireFreshSecondFactor, type PortalUser } from './portal-user';
import { retireOpen, type ContactKind } from './contact-change.repository';

const ACTION: Record<ContactKind, AllowedAction> = { email: 'change_email', phone: 'change_phone' };
const NOUN: Record<ContactKind, string> = { email: 'email address', phone: 'phone number' };
const TOKEN_TYPE: Record<ContactKind, 'email' | 'sms'> = { email: 'email', phone: 'sms' };

export const SIGN_IN_ADDRESS_KEPT =
  'You sign in with a code sent to this email address, so it cannot be removed. Change it to another address instead, or set a password first.';

export type ContactRemovals = ReturnType<typeof createContactRemovals>;

export function createContactRemovals(db: Db, messages: MessageService) {
  /** Why `kind` cannot be removed from `user` now, or undefined. Reads tokens of every resource (the address is the user's, not the portal's). */
  async function refusal(q: Queryable, user: User, kind: ContactKind): Promise<string | undefined> {
    if (!user[kind]) return `You have no ${NOUN[kind]} to remove.`;
    if (kind === 'email' && !user.hasPassword) return SIGN_IN_ADDRESS_KEPT;
    const tokens = await q('tokens').where({ tenant_id: user.tenantId, user_id: user.id, type: TOKEN_TYPE[kind] }).orderBy('created_at').select('name', 'serial');
    if (tokens.length === 0) return undefined;
    const names = tokens.map((t) => `"${t.name || t.serial}"`).join(', ');
    const what = kind === 'email' ? 'email' : 'SMS';
    return `Your ${what} token${tokens.length === 1 ? '' : 's'} ${names} send${tokens.length === 1 ? 's' : ''} codes to this ${NOUN[kind]}, so it cannot be removed. Remove ${tokens.length === 1 ? 'that token' : 'those tokens'} first (or ask your administrator), or change the ${NOUN[kind]} instead.`;
  }

  return {
    /** Why the page should not offer removal, or undefined when it may (the same checks remove() makes). */
    async whyNot(u: PortalUser, user: User, kind: ContactKind): Promise<string | undefined> {
      requireAction(u, ACTION[kind]);
      return refusal(db, user, kind);
    },

    /** Removes the address (409 with the reason when unsafe); open changes of it end; the old address is told. */
    async remove(u: PortalUser, kind: ContactKind): Promise<User> {
      requireAction(u, ACTION[kind]);
      await requireFreshSecondFactor(db, u);
      const { user, dispatches } = await db.transaction(async (trx) => {
        // Serialises with token enrolment and code sends of this user (they take the same row lock).
        await trx.raw('SELECT 1 FROM users WHERE tenant_id = ? AND id = ? FOR NO KEY UPDATE', [u.portal.tenantId, u.userId]);
        const before = await findUser(trx, u.portal.tenantId, u.userId);
        if (!before) throw new NotFoundError('Your account');
        const why = await refusal(trx, before, kind);
        if (why) throw before[kind] ? new ConflictError(why) : new ValidationError({ [kind]: why }, why);
        const after = (await updateUser(trx, u.portal.tenantId, u.userId, { [kind]: null }))!;
        await retireOpen(trx, { tenantId: u.portal.tenantId, resourceId: u.portal.id, userId: u.userId, kind });
        await recordAudit(trx, actorOf(u), { action: `portal.profile.${kind}_removed`, targetType: 'user', targetId: u.userId, resourceId: u.portal.id, details: { from: before[kind] } });
        const where = `your account at ${u.portal.name}`;
        const out: Array<() => Promise<void>> = [];
        if (kind === 'email') {
          out.push(await prepareNotice(trx, messages, u.portal.tenantId, before.email, { subject: 'Your email address was removed', lines: [`This email address was removed from ${where}. You will get no more messages about it here.`] }));
        } else {
          const sms = await messages.prepare(trx, u.portal.tenantId, { channel: 'sms', recipient: before.phone!, subject: `Phone number removed (${u.portal.name})`, bodyText: `This phone number was removed from ${where}. If this was not you, contact your administrator at once.` });
          out.push(sms.dispatch, await prepareNotice(trx, messages, u.portal.tenantId, after.email, { subject: 'Your phone number was removed', lines: [`The phone number of ${where} was removed.`] }));
        }
        return { user: after, dispatches: out };
      });
      for (const dispatch of dispatches) await dispatch();
      return user;
    },
  };
}
