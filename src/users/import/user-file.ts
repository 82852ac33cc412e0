/**
 * The uploaded user CSV between the web request and the job: sealed at rest (names, emails and
 * phone numbers are personal data), bound to its import id, and read the same way on both sides.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { SecretBox } from '../../lib/secret-box';
import { csvRecords, type CsvRecord } from './csv-records';
import { judgeRow, readHeader, UserCsvHeaderError, type ResourceLookup, type RowVerdict, type UserColumn } from './user-rows';

/** Stated in the console, the API document and the 413 answer. */
export const USER_IMPORT_MAX_BYTES = 20 * 1024 * 1024;

function context(importId: string): string {
  return `user-import:${importId}`;
}

export function sealUserFile(secrets: SecretBox, importId: string, content: Buffer): string {
  return secrets.encrypt(gzipSync(content, { level: 1 }), context(importId));
}

export function openUserFile(secrets: SecretBox, importId: string, sealed: string): Buffer {
  return gunzipSync(secrets.decrypt(sealed, context(importId)));
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** UTF-8 with or without a BOM (the decoder drops it); anything else is refused whole. */
export function decodeUserFile(content: Buffer): string {
  try {
    return utf8.decode(content);
  } catch {
    throw new UserCsvHeaderError('The file is not UTF-8 text. Save it as "CSV UTF-8" and upload it again.');
  }
}

export interface UserFile {
  columns: Map<UserColumn, number>;
  width: number;
  /** The data records, in file order (blank lines left out). */
  records: CsvRecord[];
}

/** Header checked (throws UserCsvHeaderError), rows not yet judged: enough to refuse a wrong file at upload and count its rows. */
export function readUserFile(content: Buffer): UserFile {
  const records = [...csvRecords(decodeUserFile(content))];
  const header = records.shift();
  const columns = readHeader(header);
  return { columns, width: header!.fields.length, records };
}

/**
 * Every row judged, in file order. A login that repeats one of an earlier good row (any case) is
 * refused with the line of the first, so the file's intent is never guessed.
 */
export function judgeUserFile(file: UserFile, findResource: ResourceLookup): RowVerdict[] {
  const firstLine = new Map<string, number>();
  return file.records.map((record) => {
    const verdict = judgeRow(record, file.columns, file.width, findResource);
    if (!('user' in verdict)) return verdict;
    const key = verdict.user.login.toLowerCase();
    const first = firstLine.get(key);
    if (first !== undefined) return { line: record.line, message: `the login "${verdict.user.login}" is already on line ${first} of this file.` };
    firstLine.set(key, record.line);
    return verdict;
  });
}
