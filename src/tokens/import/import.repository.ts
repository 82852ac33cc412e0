/** token_imports rows and the bulk token inserts of an import. Knex only; tenant-scoped except where the job reads by id. */
import type { Queryable } from '../../db/knex';
import type { ImportFormat } from './import.types';

export type ImportStatus = 'queued' | 'running' | 'done' | 'failed';

/** A row of the file the job skipped; `line` is the file's line (CSV) or the KeyPackage's line (PSKC). */
export interface ImportRowError {
  line: number | null;
  message: string;
}

export interface TokenImport {
  id: string;
  tenantId: string;
  format: ImportFormat;
  filename: string;
  status: ImportStatus;
  total: number;
  processed: number;
  /** Tokens this import inserted (rows skipped at insert are in rowErrors). */
  created: number;
  error: string | null;
  rowErrors: ImportRowError[];
  createdByAdminId: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** What the job needs besides the public fields: the sealed file. */
export interface TokenImportJobRow extends TokenImport {
  fileSealed: string | null;
}

const PUBLIC_COLUMNS = ['id', 'tenant_id', 'format', 'filename', 'status', 'total', 'processed', 'created', 'error', 'row_errors', 'created_by_admin_id', 'created_at', 'finished_at'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toImport(r: any): TokenImport {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    format: r.format,
    filename: r.filename,
    status: r.status,
    total: r.total,
    processed: r.processed,
    created: r.created,
    error: r.error,
    rowErrors: r.row_errors ?? [],
    createdByAdminId: r.created_by_admin_id,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

export async function insertImport(q: Queryable, row: Record<string, unknown>): Promise<TokenImport> {
  const [created] = await q('token_imports').insert(row).returning(PUBLIC_COLUMNS);
  return toImport(created);
}

export async function findImport(q: Queryable, tenantId: string, id: string): Promise<TokenImport | undefined> {
  const row = await q('token_imports').where({ tenant_id: tenantId, id }).first(PUBLIC_COLUMNS);
  return row ? toImport(row) : undefined;
}

export async function listImports(q: Queryable, tenantId: string, limit: number): Promise<TokenImport[]> {
  const rows = await q('token_imports').where({ tenant_id: tenantId }).orderBy('created_at', 'desc').limit(limit).select(PUBLIC_COLUMNS);
  return rows.map(toImport);
}

/** For the job, which has only the id from its payload. */
export async function findImportForJob(q: Queryable, id: string): Promise<TokenImportJobRow | undefined> {
  const row = await q('token_imports').where({ id }).first();
  return row ? { ...toImport(row), fileSealed: row.file_sealed } : undefined;
}

export async function updateImport(q: Queryable, id: string, patch: Record<string, unknown>): Promise<void> {
  await q('token_imports').where({ id }).update(patch);
}

/** Ends an import once: false when another delivery of the job already finished it. */
export async function finishImport(
  q: Queryable,
  id: string,
  patch: { status: 'done' | 'failed'; processed?: number; created?: number; error?: string; rowErrors?: ImportRowError[] },
): Promise<boolean> {
  const { rowErrors, ...columns } = patch;
  const count = await q('token_imports')
    .where({ id })
    .whereIn('status', ['queued', 'running'])
    .update({ ...columns, ...(rowErrors ? { row_errors: JSON.stringify(rowErrors) } : {}), file_sealed: null, finished_at: q.fn.now() });
  return count > 0;
}

/** Imports of every tenant still queued or running since before `before` (for the sweep). */
export async function unfinishedImportIds(q: Queryable, before: Date, limit = 100): Promise<string[]> {
  return q('token_imports').whereIn('status', ['queued', 'running']).where('created_at', '<', before).orderBy('created_at').limit(limit).pluck('id');
}

/** Which of these serials (any case) the tenant already has, as stored. One query for the whole file. */
export async function existingSerials(q: Queryable, tenantId: string, serials: string[]): Promise<string[]> {
  const lower = serials.map((s) => s.toLowerCase());
  const rows = await q('tokens').where({ tenant_id: tenantId }).whereRaw('lower(serial) = any(?::text[])', [lower]).select('serial');
  return rows.map((r: { serial: string }) => r.serial);
}

/** Serials (lower case) an earlier delivery of this import already inserted. */
export async function serialsOfImport(q: Queryable, tenantId: string, importId: string): Promise<Set<string>> {
  const rows = await q('tokens').where({ tenant_id: tenantId, import_id: importId }).select(q.raw('lower(serial) as serial'));
  return new Set(rows.map((r: { serial: string }) => r.serial));
}

/** One multi-row INSERT; a serial taken meanwhile by another token is skipped, not an error. Returns the ids inserted. */
export async function insertTokenRows(q: Queryable, rows: Record<string, unknown>[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const inserted = await q('tokens').insert(rows).onConflict().ignore().returning('id');
  return new Set(inserted.map((r: { id: string }) => r.id));
}
