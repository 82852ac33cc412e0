/**
 * The user is told when they are locked in a resource (issue 15 §1): one email per lock, whatever
 * the path that locked them (validation API, RADIUS, portal sign-in, security key), and the words
 * the portal shows a user who passed the first factor. "If this was not you" matters most here:
 * a lock is the visible trace of someone guessing at the account.
 */
import type { Db } from '../db/knex';
import { recordAudit } from '../audit/audit.repository';
import type { MessageService } from '../outbox/message.service';
import { claimLockNotice, findLock, type LockState } from './lockout.repository';

export type { LockState };

const hhmm = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** "You can try again in 15 minutes (after 2026-12-06 18:40 UTC)." or the administrator's unlock. */
export function lockText(lock: LockState, now = Date.now()): string {
  if (!lock.until) return 'It stays locked until an administrator unlocks it. Please contact your administrator.';
  const minutes = Math.max(1, Math.ceil((lock.until.getTime() - now) / 60_000));
  return `You can try again in ${minutes} minute${minutes === 1 ? '' : 's'} (after ${hhmm(lock.until)}).`;
}

export type LockNotices = ReturnType<typeof createLockNotices>;

export function createLockNotices(db: Db, messages: MessageService) {
  return {
    /** The user's lock in the resource now, or undefined. Tenant-scoped. */
    lockOf: (tenantId: string, resourceId: string, userId: string) => findLock(db, tenantId, resourceId, userId),

    tell,
  };

  /**
   * Emails the user of their lock in the resource, once per lock (callers run it when the
   * statement that counted the failure reports the notice due: attempt.repository's finish,
   * lockout.repository's recordFailure); the claim, the message row and the audit event commit
   * together, the send follows.
   */
  async function tell({ tenantId, resourceId, userId }: { tenantId: string; resourceId: string; userId: string }): Promise<void> {
    const dispatch = await db.transaction(async (trx) => {
      const lock = await claimLockNotice(trx, tenantId, resourceId, userId);
      if (!lock) return undefined;
      const row = await trx('users as u')
        .join('resources as r', (j) => j.on('r.tenant_id', 'u.tenant_id'))
        .where({ 'u.tenant_id': tenantId, 'u.id': userId, 'r.id': resourceId })
        .first('u.email', 'u.login', 'r.name as resource_name');
      await recordAudit(trx, { tenantId, type: 'system', label: 'lockout' }, { action: 'user.lock.notified', targetType: 'user', targetId: userId, resourceId, details: { until: lock.until?.toISOString() ?? 'until_unlocked', emailed: Boolean(row?.email) } });
      if (!row?.email) return undefined;
      const { dispatch } = await messages.prepare(trx, tenantId, {
        channel: 'email',
        recipient: row.email,
        subject: `Signing in to ${row.resource_name} is locked`,
        bodyText: [
          `Too many wrong codes or passwords were entered for your account "${row.login}" at ${row.resource_name}, so signing in there is locked for now.`,
          '',
          lockText(lock),
          '',
          'If this was not you, someone may be trying to sign in as you. Change your password if you have one, and tell your administrator.',
        ].join('\n'),
      });
      return dispatch;
    });
    await dispatch?.();
  }
}
