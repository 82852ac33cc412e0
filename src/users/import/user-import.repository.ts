/** user_imports rows, their error reports, and the bulk user writes of an import. Knex only; tenant-scoped except where the job reads by id. */
import type { Queryable } from '../../db/knex';

export type UserImportStatus = 'queued' | 'running' | 'done' | 'failed';

export interface UserImport {
  id: string;
  tenantId: string;
  filename: string;
  updateExisting: boolean;
  status: UserImportStatus;
  total: number;
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  errorCount: number;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface UserImportJobRow extends UserImport {
  fileSealed: string | null;
}

export interface RowError {
  line: number;
  message: string;
}

const PUBLIC_COLUMNS = ['id', 'tenant_id', 'filename', 'update_existing', 'status', 'total', 'processed', 'created', 'updated', 'unchanged', 'error_count', 'error', 'created_at', 'finished_at'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function toImport(r: any): UserImport {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    filename: r.filename,
    updateExisting: r.update_existing,
    status: r.status,
    total: r.total,
    processed: r.processed,
    created: r.created,
    updated: r.updated,
    unchanged: r.unchanged,
    errorCount: r.error_count,
    error: r.error,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

export async function insertImport(q: Queryable, row: Record<string, unknown>): Promise<UserImport> {
  const [created] = await q('user_imports').insert(row).returning(PUBLIC_COLUMNS);
  return toImport(created);
}

export async function findImport(q: Queryable, tenantId: string, id: string): Promise<UserImport | undefined> {
  const row = await q('user_imports').where({ tenant_id: tenantId, id }).first(PUBLIC_COLUMNS);
  return row ? toImport(row) : undefined;
}

export async function listImports(q: Queryable, tenantId: string, limit: number): Promise<UserImport[]> {
  const rows = await q('user_imports').where({ tenant_id: tenantId }).orderBy('created_at', 'desc').limit(limit).select(PUBLIC_COLUMNS);
  return rows.map(toImport);
}

/** For the job, which has only the id from its payload. */
export async function findImportForJob(q: Queryable, id: string): Promise<UserImportJobRow | undefined> {
  const row = await q('user_imports').where({ id }).first();
  return row ? { ...toImport(row), fileSealed: row.file_sealed } : undefined;
}

export async function updateImport(q: Queryable, id: string, patch: Record<string, unknown>): Promise<void> {
  await q('user_imports').where({ id }).update(patch);
}

/** Adds a batch's counts and moves `processed` to the end of the batch. */
export async function addProgress(q: Queryable, id: string, processed: number, counts: { created: number; updated: number; unchanged: number; errors: number }): Promise<void> {
  await q('user_imports')
    .where({ id })
    .update({
      processed,
      created: q.raw('created + ?', [counts.created]),
      updated: q.raw('updated + ?', [counts.updated]),
      unchanged: q.raw('unchanged + ?', [counts.unchanged]),
      error_count: q.raw('error_count + ?', [counts.errors]),
    });
}

/** Ends an import once: false when another delivery of the job already finished it. */
export async function finishImport(q: Queryable, id: string, patch: { status: 'done' | 'failed'; error?: string }): Promise<boolean> {
  const count = await q('user_imports')
    .where({ id })
    .whereIn('status', ['queued', 'running'])
    .update({ ...patch, file_sealed: null, finished_at: q.fn.now() });
  return count > 0;
}

/** Imports of every tenant still queued or running since before `before` (for the sweep). */
export async function unfinishedImportIds(q: Queryable, before: Date, limit = 100): Promise<string[]> {
  return q('user_imports').whereIn('status', ['queued', 'running']).where('created_at', '<', before).orderBy('created_at').limit(limit).pluck('id');
}

/** A second delivery may write a batch's errors again: the same line is kept once. */
export async function insertErrors(q: Queryable, importId: string, errors: RowError[]): Promise<void> {
  if (errors.length === 0) return;
  await q('user_import_errors').insert(errors.map((e) => ({ import_id: importId, line: e.line, message: e.message }))).onConflict(['import_id', 'line']).ignore();
}

/** The report in line order; the import is known to belong to the tenant (checked by the caller). */
export async function listErrors(q: Queryable, importId: string, limit: number): Promise<RowError[]> {
  return q('user_import_errors').where({ import_id: importId }).orderBy('line').limit(limit).select('line', 'message');
}

/** Every resource of the tenant, for resolving the `resources` column by name or id. */
export async function tenantResources(q: Queryable, tenantId: string): Promise<Array<{ id: string; name: string }>> {
  return q('resources').where({ tenant_id: tenantId }).select('id', 'name');
}

/** One multi-row INSERT; a login that exists (any case) is skipped by the unique index. Returns the rows created. */
export async function insertUsers(q: Queryable, rows: Record<string, unknown>[]): Promise<Array<{ id: string; login: string }>> {
  if (rows.length === 0) return [];
  return q('users').insert(rows).onConflict().ignore().returning(['id', 'login']);
}

export interface ExistingUser {
  id: string;
  login: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
}

/** The tenant's users with these logins (compared in lower case). One query per batch. */
export async function usersByLogin(q: Queryable, tenantId: string, lowerLogins: string[]): Promise<ExistingUser[]> {
  if (lowerLogins.length === 0) return [];
  return q('users').where({ tenant_id: tenantId }).whereRaw('lower(login) = any(?::text[])', [lowerLogins]).select('id', 'login', 'email', 'phone', 'first_name', 'last_name');
}

export async function updateUserFields(q: Queryable, tenantId: string, id: string, patch: Record<string, unknown>): Promise<void> {
  await q('users').where({ tenant_id: tenantId, id }).update({ ...patch, updated_at: q.fn.now() });
}

/** One multi-row INSERT of assignments; existing ones are kept. Returns the user ids that gained one. */
export async function insertAssignments(q: Queryable, rows: Array<{ tenant_id: string; resource_id: string; user_id: string }>): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const inserted = await q('resource_users').insert(rows).onConflict(['resource_id', 'user_id']).ignore().returning('user_id');
  return new Set(inserted.map((r: { user_id: string }) => r.user_id));
}
