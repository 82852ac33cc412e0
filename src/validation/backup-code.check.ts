/** Backup codes prove a token by consuming one unused code (SEC-13). */
import { consumeBackupCode } from '../tokens/backup-codes';
import type { CodeCheck } from './code-checks';

export function createBackupCodeCheck(): CodeCheck {
  return (token, code, ctx) => consumeBackupCode(ctx.db, token.tenantId, token.id, code);
}
