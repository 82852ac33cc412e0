/**
 * What a user CSV means (pure): the header, and each row judged exactly as POST /api/v1/users
 * judges a body (the same zod schema), plus what only a file can get wrong (a login repeated,
 * an unknown resource, a record with the wrong number of fields). A bad row becomes a message a
 * person can act on; it never throws.
 */
import { findInputProblem } from '../../web/input-guard';
import { userFieldsSchema } from '../user.types';
import type { CsvRecord } from './csv-records';

export const USER_COLUMNS = ['login', 'email', 'phone', 'firstName', 'lastName', 'resources'] as const;
export type UserColumn = (typeof USER_COLUMNS)[number];

/** The longest value each column can hold; longer is reported as such before any other check. */
const MAX_LENGTH: Record<UserColumn, number> = { login: 100, email: 254, phone: 16, firstName: 100, lastName: 100, resources: 10_000 };

/** The header refused: the message names what is wrong and is shown as is. */
export class UserCsvHeaderError extends Error {}

/** Column positions by name, from the header record. Names match regardless of case and spaces. */
export function readHeader(record: CsvRecord | undefined): Map<UserColumn, number> {
  const expected = `The first line must name the columns, for example: ${USER_COLUMNS.join(',')} (only login is required).`;
  if (!record) throw new UserCsvHeaderError(`The file is empty. ${expected}`);
  if (record.problem) throw new UserCsvHeaderError(`Line 1 (the header): ${record.problem}`);
  const byLower = new Map(USER_COLUMNS.map((c) => [c.toLowerCase(), c]));
  const columns = new Map<UserColumn, number>();
  const unknown: string[] = [];
  record.fields.forEach((raw, index) => {
    const name = raw.trim();
    const column = byLower.get(name.toLowerCase());
    if (!column) unknown.push(name === '' ? '(a blank column name)' : `"${printable(name)}"`);
    else if (columns.has(column)) throw new UserCsvHeaderError(`The column "${column}" appears twice in the header.`);
    else columns.set(column, index);
  });
  if (record.fields.length === 1 && /[;\t]/.test(record.fields[0])) {
    throw new UserCsvHeaderError(`The columns must be separated by commas, but the first line is "${printable(record.fields[0])}". Save the file as "CSV (comma delimited)" and upload it again.`);
  }
  if (unknown.length) {
    throw new UserCsvHeaderError(`Unknown column${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 10).join(', ')}. The columns are ${USER_COLUMNS.join(', ')}.`);
  }
  if (!columns.has('login')) throw new UserCsvHeaderError(`The header has no "login" column. ${expected}`);
  return columns;
}

/** A row ready to write: only the fields the file gives (blank cells are "not given"). */
export interface ImportedUser {
  line: number;
  login: string;
  email?: string;
  phone?: string;
  firstName?: string;
  lastName?: string;
  resourceIds: string[];
}

export type RowVerdict = { user: ImportedUser } | { line: number; message: string };

/** Resource name (any case) or id → id; undefined when the tenant has no such resource. */
export type ResourceLookup = (nameOrId: string) => string | undefined;

export function judgeRow(record: CsvRecord, columns: Map<UserColumn, number>, width: number, findResource: ResourceLookup): RowVerdict {
  const fail = (message: string) => ({ line: record.line, message });
  if (record.problem) return fail(record.problem);
  if (record.fields.length !== width) return fail(`this row has ${record.fields.length} fields, the header has ${width}; check for an unquoted comma.`);
  const cell: Partial<Record<UserColumn, string>> = {};
  for (const [column, index] of columns) {
    const value = record.fields[index].trim();
    if (value === '') continue;
    if (value.length > MAX_LENGTH[column]) return fail(`the ${column} is too long (${value.length} characters, at most ${MAX_LENGTH[column]}).`);
    // The API's input guard, per field: NUL bytes and control characters become row errors, not a 500.
    const bad = findInputProblem(value, column);
    if (bad) return fail(bad);
    cell[column] = value;
  }
  if (!cell.login) return fail('the login is empty.');
  const parsed = userFieldsSchema.safeParse({ login: cell.login, email: cell.email, phone: cell.phone, firstName: cell.firstName, lastName: cell.lastName });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const column = String(issue.path[0] ?? 'login') as UserColumn;
    return fail(`${column} "${printable(cell[column] ?? '')}": ${issue.message}`);
  }
  const resourceIds: string[] = [];
  for (const name of (cell.resources ?? '').split(';').map((s) => s.trim()).filter(Boolean)) {
    const id = findResource(name);
    if (!id) return fail(`unknown resource "${printable(name)}"; create it first or correct its name.`);
    if (!resourceIds.includes(id)) resourceIds.push(id);
  }
  const d = parsed.data;
  return {
    user: {
      line: record.line,
      login: d.login,
      ...(d.email ? { email: d.email } : {}),
      ...(d.phone ? { phone: d.phone } : {}),
      ...(d.firstName ? { firstName: d.firstName } : {}),
      ...(d.lastName ? { lastName: d.lastName } : {}),
      resourceIds,
    },
  };
}

/** Echoes input in messages without control characters or unbounded length. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
