/** Backup codes prove a token by consuming one unused code; the owner is told each time (SEC-13). */
import type { Db } from '../db/knex';
import type { Logger } from '../lib/logger';
import type { MessageService } from '../outbox/message.service';
import { consumeBackupCode, countUnusedBackupCodes } from '../tokens/backup-codes';
import type { TokenCheckRow } from '../tokens/token.types';
import { findUser } from '../users/user.repository';
import type { CodeCheck } from './code-checks';

export type BackupCodeUsed = (token: TokenCheckRow) => Promise<void>;

/** `onUse` runs after a code is consumed (the consuming UPDATE has committed by then). */
export function createBackupCodeCheck(onUse?: BackupCodeUsed): CodeCheck {
  return async (token, code, ctx) => {
    const ok = await consumeBackupCode(ctx.db, token.tenantId, token.id, code);
    if (ok && onUse) await onUse(token);
    return ok;
  };
}

/**
 * Emails the token's owner, if they have an email address, that a backup code was used and how
 * many are left: an unexpected mail is how a user learns their codes leaked. A failure to queue
 * the mail is logged, never turned into a refused sign-in (the code is already spent).
 */
export function notifyBackupCodeUse(db: Db, messages: MessageService, log: Logger): BackupCodeUsed {
  return async (token) => {
    try {
      const owner = token.userId ? await findUser(db, token.tenantId, token.userId) : undefined;
      if (!owner?.email) return;
      const left = await countUnusedBackupCodes(db, token.tenantId, token.id);
      await messages.send(token.tenantId, {
        recipient: owner.email,
        subject: 'A backup code was used',
        bodyText: [
          `A backup code of your account "${owner.login}" was just used to sign in.`,
          left === 0 ? 'You have no backup codes left: ask for a new set.' : `You have ${left} backup code${left === 1 ? '' : 's'} left.`,
          '',
          'If this was not you, contact your administrator at once.',
        ].join('\n'),
      });
    } catch (err) {
      log.error({ tokenId: token.id, err: (err as Error).message }, 'could not queue the backup code notification');
    }
  };
}
