/**
 * Key rotation for secrets at rest (SEC-03): re-seals every ciphertext that is not under the
 * active key (`ENCRYPTION_KEY_ID`) with it. Run by `npm run cli -- keys:rotate`, online: the web
 * and worker processes keep running with the old and the new key both in `ENCRYPTION_KEYS`.
 *
 * Each batch is ONE `UPDATE ... FROM (VALUES ...)` that writes a row only while it still holds
 * the ciphertext that was read (compare-and-set), so a concurrent write (a new seed, a counter
 * claim touching other columns, an admin re-enrolling) is never overwritten and no lock is held
 * while decrypting. Rows are walked by id (keyset), so the run ends even while rows change.
 * Idempotent: a second run finds nothing to do. Not tenant-scoped: keys are service-wide.
 */
import type { Db } from '../db/knex';
import type { SecretBox } from '../lib/secret-box';

/**
 * Every sealed column and the associated data it is bound to. The contexts must match the code
 * that seals them: src/tokens/token-seed.ts, src/admins/admin.service.ts (totpContext),
 * src/tokens/import/import-file.ts and src/webhooks/webhook.service.ts; the integration test proves each still opens afterwards.
 */
export const SEALED_COLUMNS = [
  { name: 'tokens', table: 'tokens', column: 'seed_sealed', keyIdColumn: 'seed_key_id', context: (id: string) => `token-seed:${id}` },
  // A reissued seed waiting for its first code (src/portal-actions/token-actions.service.ts).
  { name: 'pendingSeeds', table: 'tokens', column: 'pending_seed_sealed', keyIdColumn: undefined, context: (id: string) => `token-seed:${id}` },
  { name: 'admins', table: 'admins', column: 'totp_secret_sealed', keyIdColumn: undefined, context: (id: string) => `admin-totp:${id}` },
  { name: 'tokenImports', table: 'token_imports', column: 'file_sealed', keyIdColumn: undefined, context: (id: string) => `token-import:${id}` },
  // Webhook signing secrets, current and (for 24 h after a rotation) previous (src/webhooks/webhook.service.ts sealContext).
  { name: 'webhookSecrets', table: 'webhook_endpoints', column: 'secret_sealed', keyIdColumn: undefined, context: (id: string) => `webhook_endpoint:${id}` },
  { name: 'webhookPreviousSecrets', table: 'webhook_endpoints', column: 'previous_secret_sealed', keyIdColumn: undefined, context: (id: string) => `webhook_endpoint:${id}` },
] as const;

export type SealedColumnName = (typeof SEALED_COLUMNS)[number]['name'];

export interface RotationSummary {
  keyId: string;
  /** Rows re-sealed under the active key, per sealed column. */
  rotated: Record<SealedColumnName, number>;
  /** Rows changed by someone else between read and write (left as they are; a re-run checks them). */
  skipped: Record<SealedColumnName, number>;
  /** Rows sealed under a key that is not configured: they cannot be opened, so they stay as they are. */
  unreadable: Record<SealedColumnName, number>;
}

export interface RotationOptions {
  batchSize?: number;
  /** Called after each batch (the CLI prints it to stderr). */
  onProgress?: (p: { name: SealedColumnName; done: number; total: number }) => void;
}

function emptyCounts(): Record<SealedColumnName, number> {
  return { tokens: 0, pendingSeeds: 0, admins: 0, tokenImports: 0, webhookSecrets: 0, webhookPreviousSecrets: 0 };
}

export type KeyRotationService = ReturnType<typeof createKeyRotationService>;

export function createKeyRotationService(db: Db, secrets: SecretBox) {
  const active = secrets.activeKeyId;

  /** Rows of one column not (consistently) under the active key, after `afterId`, in id order. */
  function pending(spec: (typeof SEALED_COLUMNS)[number], afterId: string | null, limit?: number) {
    const q = db(spec.table).whereNotNull(spec.column);
    q.andWhere((w) => {
      w.whereRaw(`split_part(??, ':', 2) <> ?`, [spec.column, active]);
      if (spec.keyIdColumn) w.orWhereRaw('?? IS DISTINCT FROM ?', [spec.keyIdColumn, active]);
    });
    if (afterId) q.andWhere('id', '>', afterId);
    if (limit) q.orderBy('id').limit(limit);
    return q;
  }

  async function rotateColumn(spec: (typeof SEALED_COLUMNS)[number], summary: RotationSummary, options: RotationOptions): Promise<void> {
    const batchSize = options.batchSize ?? 500;
    const [{ count }] = await pending(spec, null).count<{ count: string }[]>('* as count');
    const total = Number(count);
    let cursor: string | null = null;
    let done = 0;
    for (;;) {
      const rows: Array<{ id: string; sealed: string }> = await pending(spec, cursor, batchSize).select('id', `${spec.column} as sealed`);
      if (rows.length === 0) break;
      cursor = rows[rows.length - 1].id;
      const updates: Array<[string, string, string]> = [];
      for (const row of rows) {
        let plain: Buffer;
        try {
          plain = secrets.decrypt(row.sealed, spec.context(row.id));
        } catch {
          summary.unreadable[spec.name] += 1;
          continue;
        }
        updates.push([row.id, row.sealed, secrets.encrypt(plain, spec.context(row.id))]);
        plain.fill(0);
      }
      if (updates.length > 0) {
        const values = updates.map(() => '(?::uuid, ?, ?)').join(', ');
        const setKeyId = spec.keyIdColumn ? `, ${spec.keyIdColumn} = ?` : '';
        const result = await db.raw(
          `UPDATE ${spec.table} AS t SET ${spec.column} = v.sealed_new${setKeyId}
             FROM (VALUES ${values}) AS v(id, sealed_old, sealed_new)
            WHERE t.id = v.id AND t.${spec.column} = v.sealed_old`,
          [...(spec.keyIdColumn ? [active] : []), ...updates.flat()],
        );
        summary.rotated[spec.name] += result.rowCount ?? 0;
        summary.skipped[spec.name] += updates.length - (result.rowCount ?? 0);
      }
      done += rows.length;
      options.onProgress?.({ name: spec.name, done, total: Math.max(total, done) });
    }
  }

  return {
    /** Re-seals every sealed column under the active key, batch by batch. Safe to re-run. */
    async rotateAll(options: RotationOptions = {}): Promise<RotationSummary> {
      const summary: RotationSummary = { keyId: active, rotated: emptyCounts(), skipped: emptyCounts(), unreadable: emptyCounts() };
      for (const spec of SEALED_COLUMNS) await rotateColumn(spec, summary, options);
      return summary;
    },

    /** Rows not yet under the active key, per column (what a re-run would look at). */
    async remaining(): Promise<Record<SealedColumnName, number>> {
      const counts = emptyCounts();
      for (const spec of SEALED_COLUMNS) {
        const [{ count }] = await pending(spec, null).count<{ count: string }[]>('* as count');
        counts[spec.name] = Number(count);
      }
      return counts;
    },
  };
}
