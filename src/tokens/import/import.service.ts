/**
 * Hardware token import (SPEC §2, §6): the whole file is checked while the admin waits (any bad
 * line or element refuses it, nothing written), then stored sealed and handed to the
 * `tokens.import` job on the provisioning queue, which inserts the tokens and reports progress.
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
import { detectFormat, parseImportFile, sealImportFile } from './import-file';
import { ImportFormatError, printable, type ImportedToken } from './import.types';
import * as repo from './import.repository';

export type TokenImportService = ReturnType<typeof createTokenImportService>;
export type { TokenImport } from './import.repository';

export interface StartImportInput {
  /** 'csv', 'pskc', or anything else to detect it from the file name and content. */
  format?: string;
  filename: string;
  content: Buffer;
  /** For password-protected PSKC files. */
  password?: string;
  /** For PSKC files encrypted with a pre-shared key: the key in hex. Sealed with the file, like the password. */
  preSharedKey?: string;
}

function refuse(message: string): ValidationError {
  return new ValidationError({ file: message }, message);
}

/** A file name is shown back in the console and the audit log: its base name only, printable, bounded. */
function cleanFilename(name: string): string {
  // eslint-disable-next-line no-control-regex
  return (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 200);
}

export function createTokenImportService(db: Db, queue: JobQueue, secrets: SecretBox) {
  /** One query for every serial of the file; names the first clash in file order. */
  async function refuseTakenSerials(tenantId: string, tokens: ImportedToken[]): Promise<void> {
    const taken = new Set((await repo.existingSerials(db, tenantId, tokens.map((t) => t.serial))).map((s) => s.toLowerCase()));
    if (taken.size === 0) return;
    const first = tokens.find((t) => taken.has(t.serial.toLowerCase()))!;
    const more = taken.size > 1 ? ` (${taken.size} serials of this file are already in use)` : '';
    throw refuse(`${first.where}: a token with the serial "${printable(first.serial)}" already exists${more}. Nothing was imported.`);
  }

  return {
    /**
     * Validates the whole file, then records the import and enqueues its job. Tenant from the
     * actor; owners and admins only. Audited (`token.import.start`) with the import row.
     */
    async startImport(actor: Actor, input: StartImportInput): Promise<repo.TokenImport> {
      requireWriter(actor);
      // Imported tokens land in the tenant-wide stock: not for an admin limited to some resources.
      requireWholeTenant(actor, 'Page');
      if (input.content.length === 0) throw refuse('Choose a CSV or PSKC file to import.');
      const filename = cleanFilename(input.filename);
      const format = detectFormat(input.format, filename, input.content);
      const file = { content: input.content, password: input.password || undefined, preSharedKey: input.preSharedKey?.trim() || undefined };
      let tokens: ImportedToken[];
      try {
        tokens = parseImportFile(format, file);
      } catch (err) {
        if (err instanceof ImportFormatError) throw refuse(`${err.message} Nothing was imported.`);
        throw err;
      }
      await refuseTakenSerials(actor.tenantId, tokens);

      const id = randomUUID();
      const created = await db.transaction(async (trx) => {
        const row = await repo.insertImport(trx, {
          id,
          tenant_id: actor.tenantId,
          format,
          filename,
          status: 'queued',
          file_sealed: sealImportFile(secrets, id, file),
          total: tokens.length,
          created_by_admin_id: actor.type === 'admin' ? actor.id : null,
        });
        await recordAudit(trx, actor, { action: 'token.import.start', targetType: 'token_import', targetId: id, details: { format, filename, total: tokens.length } });
        return row;
      });
      try {
        await queue.enqueue('importTokens', { importId: id }, { jobId: `import-${id}` });
      } catch (err) {
        // Without the job nothing would ever process the row: say so now rather than show a bar stuck at zero.
        const message = 'The import could not be queued. Try again in a moment.';
        await repo.finishImport(db, id, { status: 'failed', error: message });
        // A 503 with that message, not a 500 (e.g. Redis unreachable: enqueue gives up after ENQUEUE_TIMEOUT_MS).
        throw new ServiceUnavailableError(message, { cause: err });
      }
      return created;
    },

    async get(scope: Scope, id: string): Promise<repo.TokenImport> {
      requireWholeTenant(scope, 'Import');
      const found = isUuid(id) ? await repo.findImport(db, scope.tenantId, id) : undefined;
      if (!found) throw new NotFoundError('Import');
      return found;
    },

    async listRecent(scope: Scope, limit = 10): Promise<repo.TokenImport[]> {
      requireWholeTenant(scope, 'Page');
      return repo.listImports(db, scope.tenantId, limit);
    },

    /**
     * Re-enqueues imports not finished after `olderThanMs` (their job was lost with a restarted
     * in-process queue or an unreachable Redis). Harmless for a job still running: same job id,
     * and the processor skips tokens it already inserted.
     */
    async sweep(olderThanMs = 10 * 60_000): Promise<number> {
      const stale = await repo.unfinishedImportIds(db, new Date(Date.now() - olderThanMs));
      for (const importId of stale) await queue.enqueue('importTokens', { importId }, { jobId: `import-${importId}` });
      return stale.length;
    },
  };
}
