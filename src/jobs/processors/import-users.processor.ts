/**
 * provisioning queue, job `users.import`: judges every row of one `user_imports` file, writes the
 * good ones in batches (each batch commits with its counts, its report lines and `processed`),
 * and audits the outcome once. Safe to run twice: a finished import is skipped, and a second
 * delivery resumes after the last committed batch, so nothing is counted or created twice.
 */
import type { Db } from '../../db/knex';
import type { Logger } from '../../lib/logger';
import type { SecretBox } from '../../lib/secret-box';
import { recordAudit } from '../../audit/audit.repository';
import { systemActor } from '../../audit/actor';
import { judgeUserFile, openUserFile, readUserFile } from '../../users/import/user-file';
import { UserCsvHeaderError, type ImportedUser } from '../../users/import/user-rows';
import { writeUserBatch } from '../../users/import/user-import.batch';
import * as repo from '../../users/import/user-import.repository';
import type { Processor } from '../queue';

/** 1000 users x 6 columns stays far below PostgreSQL's 65 535 bind parameters, and progress moves every batch. */
export const USER_IMPORT_BATCH_SIZE = 1000;

/** Resource name (any case) or id → id, for the tenant's resources at the start of the job. */
function resourceLookup(resources: Array<{ id: string; name: string }>) {
  const byKey = new Map<string, string>();
  for (const r of resources) {
    byKey.set(r.id.toLowerCase(), r.id);
    byKey.set(r.name.toLowerCase(), r.id);
  }
  return (nameOrId: string) => byKey.get(nameOrId.toLowerCase());
}

export function createImportUsersProcessor(db: Db, secrets: SecretBox, log: Logger): Processor<'importUsers'> {
  async function fail(row: repo.UserImport, error: string): Promise<void> {
    await db.transaction(async (trx) => {
      if (!(await repo.finishImport(trx, row.id, { status: 'failed', error }))) return;
      await recordAudit(trx, systemActor(row.tenantId, 'user import'), { action: 'user.import.failed', targetType: 'user_import', targetId: row.id, result: 'failure', details: { error } });
    });
  }

  return async ({ importId }, attempt) => {
    const row = await repo.findImportForJob(db, importId);
    // Finished by an earlier delivery, or deleted with its tenant: nothing to do.
    if (!row || row.status === 'done' || row.status === 'failed') return;
    if (!row.fileSealed) return fail(row, 'The uploaded file is no longer available. Upload it again.');
    const started = Date.now();
    try {
      let verdicts;
      try {
        const file = readUserFile(openUserFile(secrets, row.id, row.fileSealed));
        verdicts = judgeUserFile(file, resourceLookup(await repo.tenantResources(db, row.tenantId)));
      } catch (err) {
        // Checked at upload, so only a changed parser gets here; retrying would not help.
        if (err instanceof UserCsvHeaderError) return fail(row, err.message);
        throw err;
      }
      await repo.updateImport(db, row.id, { status: 'running', total: verdicts.length });
      for (let i = row.processed; i < verdicts.length; i += USER_IMPORT_BATCH_SIZE) {
        const batch = verdicts.slice(i, i + USER_IMPORT_BATCH_SIZE);
        const users: ImportedUser[] = [];
        const errors: repo.RowError[] = [];
        for (const v of batch) {
          if ('user' in v) users.push(v.user);
          else errors.push(v);
        }
        // The batch's users, report lines and progress commit together: a second delivery resumes after it.
        await db.transaction(async (trx) => {
          const counts = await writeUserBatch(trx, row.tenantId, users, row.updateExisting);
          await repo.insertErrors(trx, row.id, errors);
          await repo.addProgress(trx, row.id, i + batch.length, { ...counts, errors: errors.length });
        });
      }
      await db.transaction(async (trx) => {
        if (!(await repo.finishImport(trx, row.id, { status: 'done' }))) return;
        const done = (await repo.findImportForJob(trx, row.id))!;
        const details = { filename: done.filename, total: done.total, created: done.created, updated: done.updated, unchanged: done.unchanged, errors: done.errorCount };
        await recordAudit(trx, systemActor(row.tenantId, 'user import'), { action: 'user.import.done', targetType: 'user_import', targetId: row.id, details });
      });
      log.info({ importId, rows: verdicts.length, ms: Date.now() - started }, 'user import done');
    } catch (err) {
      if (attempt.final) await fail(row, 'The import stopped because of an internal error. Users imported so far are kept.');
      throw err;
    }
  };
}
