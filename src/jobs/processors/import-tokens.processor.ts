/**
 * provisioning queue, job `tokens.import`: inserts the hardware tokens of one `token_imports` row
 * in batches, reporting progress after each. Safe to run twice: a finished import is skipped, and
 * tokens an earlier delivery inserted (same import_id) are not inserted again.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/knex';
import type { Logger } from '../../lib/logger';
import type { SecretBox } from '../../lib/secret-box';
import { recordAudit } from '../../audit/audit.repository';
import { systemActor } from '../../audit/actor';
import { sealSeed } from '../../tokens/token-seed';
import { openImportFile, parseImportFile } from '../../tokens/import/import-file';
import { ImportFormatError, lineOf, type ImportedToken } from '../../tokens/import/import.types';
import * as repo from '../../tokens/import/import.repository';
import type { Processor } from '../queue';

/** 1000 rows x 12 columns stays far below PostgreSQL's 65535 bind parameters, and progress moves every batch. */
export const IMPORT_BATCH_SIZE = 1000;

/** Skipped rows listed on the import (the count is total - created); a row stays small however many clash. */
export const MAX_ROW_ERRORS = 100;

function tokenRow(secrets: SecretBox, tenantId: string, importId: string, t: ImportedToken): Record<string, unknown> {
  // The id is chosen before sealing: the seed's ciphertext is bound to it.
  const id = randomUUID();
  return {
    id,
    tenant_id: tenantId,
    user_id: null,
    type: 'hardware',
    serial: t.serial,
    otp_kind: t.kind,
    algorithm: t.algorithm,
    digits: t.digits,
    period: t.kind === 'totp' ? t.period : null,
    hotp_counter: t.kind === 'hotp' ? (t.counter ?? 0) : 0,
    import_id: importId,
    ...sealSeed(secrets, id, t.seed),
  };
}

export function createImportTokensProcessor(db: Db, secrets: SecretBox, log: Logger): Processor<'importTokens'> {
  async function fail(row: repo.TokenImport, error: string): Promise<void> {
    await db.transaction(async (trx) => {
      if (!(await repo.finishImport(trx, row.id, { status: 'failed', error }))) return;
      await recordAudit(trx, systemActor(row.tenantId, 'token import'), { action: 'token.import.failed', targetType: 'token_import', targetId: row.id, result: 'failure', details: { error } });
    });
  }

  return async ({ importId }, attempt) => {
    const row = await repo.findImportForJob(db, importId);
    // Finished by an earlier delivery, or deleted with its tenant: nothing to do.
    if (!row || row.status === 'done' || row.status === 'failed') return;
    if (!row.fileSealed) return fail(row, 'The uploaded file is no longer available. Upload it again.');
    const started = Date.now();
    let tokens: ImportedToken[];
    try {
      tokens = parseImportFile(row.format, openImportFile(secrets, row.id, row.fileSealed));
    } catch (err) {
      // Checked at upload, so only a changed parser gets here; retrying would not help.
      if (err instanceof ImportFormatError) return fail(row, err.message);
      throw err;
    }
    try {
      await repo.updateImport(db, row.id, { status: 'running', total: tokens.length });
      const earlier = await repo.serialsOfImport(db, row.tenantId, row.id);
      let processed = 0;
      let created = earlier.size;
      const notInserted: ImportedToken[] = [];
      for (let i = 0; i < tokens.length; i += IMPORT_BATCH_SIZE) {
        const batch = tokens.slice(i, i + IMPORT_BATCH_SIZE).filter((t) => !earlier.has(t.serial.toLowerCase()));
        const rows = batch.map((t) => tokenRow(secrets, row.tenantId, row.id, t));
        processed = Math.min(i + IMPORT_BATCH_SIZE, tokens.length);
        // Each batch commits with its progress, so the bar never runs ahead of the rows.
        const inserted = await db.transaction(async (trx) => {
          const ids = await repo.insertTokenRows(trx, rows);
          await repo.updateImport(trx, row.id, { processed, created: created + ids.size });
          return ids;
        });
        created += inserted.size;
        batch.forEach((t, k) => inserted.has(rows[k].id as string) || notInserted.push(t));
      }
      // Serials another token took between upload and now are skipped rather than failing half an
      // import, and listed with their line. A row a concurrent delivery of this same job inserted
      // is not such a row: it counts as created.
      let rowErrors: repo.ImportRowError[] = [];
      if (notInserted.length > 0) {
        const ours = await repo.serialsOfImport(db, row.tenantId, row.id);
        created = ours.size;
        rowErrors = notInserted
          .filter((t) => !ours.has(t.serial.toLowerCase()))
          .slice(0, MAX_ROW_ERRORS)
          .map((t) => ({ line: lineOf(t.where), message: `${t.where}: the serial "${t.serial}" was taken by another token after the file was checked; this row was skipped.` }));
      }
      const skipped = tokens.length - created;
      await db.transaction(async (trx) => {
        if (!(await repo.finishImport(trx, row.id, { status: 'done', processed, created, rowErrors }))) return;
        await recordAudit(trx, systemActor(row.tenantId, 'token import'), { action: 'token.import.done', targetType: 'token_import', targetId: row.id, details: { count: created, skipped, format: row.format } });
      });
      log.info({ importId, count: created, skipped, ms: Date.now() - started }, 'token import done');
    } catch (err) {
      if (attempt.final) await fail(row, 'The import stopped because of an internal error. Tokens imported so far are kept.');
      throw err;
    }
  };
}
