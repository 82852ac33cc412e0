/**
 * User CSV import (issue 12 §1): the header is checked while the admin waits (a wrong column
 * refuses the file), then the file is stored sealed and handed to the `users.import` job on the
 * provisioning queue, which judges every row, writes the good ones in batches and reports the
 * others with their line numbers. Idempotent: an existing login is matched case-insensitively.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/knex';
import { isUuid } from '../../db/errors';
import type { JobQueue } from '../../jobs/queue';
import { NotFoundError, ServiceUnavailableError, ValidationError } from '../../lib/errors';
import type { SecretBox } from '../../lib/secret-box';
import { recordAudit } from '../../audit/audit.repository';
import type { Actor } from '../../audit/actor';
import { requireWriter } from '../../admins/permissions';
import { requireWholeTenant, type Scope } from '../../admins/resource-scope';
import { readUserFile, sealUserFile, USER_IMPORT_MAX_BYTES } from './user-file';
import { UserCsvHeaderError } from './user-rows';
import * as repo from './user-import.repository';

export type UserImportService = ReturnType<typeof createUserImportService>;
export type { UserImport, RowError } from './user-import.repository';

export interface StartUserImportInput {
  filename: string;
  content: Buffer;
  /** Change the given fields of users that exist (and add their assignments); otherwise they are left as they are. */
  updateExisting: boolean;
}

/** The console shows this many report lines; the CSV download and the API give them all. */
export const REPORT_PAGE_LIMIT = 1000;

function refuse(message: string): ValidationError {
  return new ValidationError({ file: message }, message);
}

/** Shown back in the console and the audit log: the base name only, printable, bounded. */
function cleanFilename(name: string): string {
  // eslint-disable-next-line no-control-regex
  return (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 200);
}

const jobId = (importId: string) => `user-import-${importId}`;

export function createUserImportService(db: Db, queue: JobQueue, secrets: SecretBox) {
  async function mustFind(scope: Scope, id: string): Promise<repo.UserImport> {
    requireWholeTenant(scope, 'Import');
    const found = isUuid(id) ? await repo.findImport(db, scope.tenantId, id) : undefined;
    if (!found) throw new NotFoundError('Import');
    return found;
  }

  return {
    /**
     * Checks the header, records the import and enqueues its job. Tenant from the actor; owners,
     * admins and API keys only. Audited once (`user.import.start`); the job audits the outcome once.
     */
    async startImport(actor: Actor, input: StartUserImportInput): Promise<repo.UserImport> {
      requireWriter(actor);
      // A file may name any resource and update any user: tenant-wide, so not for a limited admin.
      requireWholeTenant(actor, 'Page');
      if (input.content.length === 0) throw refuse('Choose a CSV file to import.');
      if (input.content.length > USER_IMPORT_MAX_BYTES) throw refuse(`The file is larger than ${USER_IMPORT_MAX_BYTES / 1024 / 1024} MB. Split it into smaller files.`);
      const filename = cleanFilename(input.filename);
      let total: number;
      try {
        total = readUserFile(input.content).records.length;
      } catch (err) {
        if (err instanceof UserCsvHeaderError) throw refuse(`${err.message} Nothing was imported.`);
        throw err;
      }
      if (total === 0) throw refuse('The file has a header but no users. Nothing was imported.');

      const id = randomUUID();
      const created = await db.transaction(async (trx) => {
        const row = await repo.insertImport(trx, {
          id,
          tenant_id: actor.tenantId,
          filename,
          update_existing: input.updateExisting,
          status: 'queued',
          file_sealed: sealUserFile(secrets, id, input.content),
          total,
          created_by_admin_id: actor.type === 'admin' ? actor.id : null,
        });
        await recordAudit(trx, actor, { action: 'user.import.start', targetType: 'user_import', targetId: id, details: { filename, total, updateExisting: input.updateExisting } });
        return row;
      });
      try {
        await queue.enqueue('importUsers', { importId: id }, { jobId: jobId(id) });
      } catch (err) {
        // Without the job nothing would ever process the row: say so now rather than show a bar stuck at zero.
        const message = 'The import could not be queued. Try again in a moment.';
        await repo.finishImport(db, id, { status: 'failed', error: message });
        throw new ServiceUnavailableError(message, { cause: err });
      }
      return created;
    },

    get: mustFind,

    async listRecent(scope: Scope, limit = 10): Promise<repo.UserImport[]> {
      requireWholeTenant(scope, 'Page');
      return repo.listImports(db, scope.tenantId, limit);
    },

    /** The skipped rows in line order (at most `limit`). Tenant-scoped through the import. */
    async errors(scope: Scope, id: string, limit = Number.MAX_SAFE_INTEGER): Promise<repo.RowError[]> {
      const found = await mustFind(scope, id);
      return found.errorCount === 0 ? [] : repo.listErrors(db, found.id, Math.min(limit, 10_000_000));
    },

    /**
     * Re-enqueues imports not finished after `olderThanMs` (their job was lost). Harmless for a
     * job still running: same job id, and the processor resumes after the rows already done.
     */
    async sweep(olderThanMs = 10 * 60_000): Promise<number> {
      const stale = await repo.unfinishedImportIds(db, new Date(Date.now() - olderThanMs));
      for (const importId of stale) await queue.enqueue('importUsers', { importId }, { jobId: jobId(importId) });
      return stale.length;
    },
  };
}
