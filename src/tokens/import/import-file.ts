/**
 * The uploaded file between the web request and the job: sealed at rest (it holds seeds, and
 * the PSKC password or pre-shared key with it), bound to its import id, and parsed the same way
 * on both sides.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { SecretBox } from '../../lib/secret-box';
import { parseTokenCsv } from './csv-parser';
import { parseTokenPskc } from './pskc-parser';
import type { ImportedToken, ImportFormat } from './import.types';

export interface ImportFile {
  content: Buffer;
  password?: string;
  /** Hex, for PSKC files encrypted with a pre-shared key. */
  preSharedKey?: string;
}

function context(importId: string): string {
  return `token-import:${importId}`;
}

/**
 * Layout before sealing: a JSON header line ({password, preSharedKey}), then the file's bytes, gzipped. Seed
 * files are mostly repeated markup, so a 10 000-key PSKC file of 8 MB seals to well under 1 MB
 * instead of 11 MB of base64, which PostgreSQL would otherwise try (and fail) to compress.
 */
export function sealImportFile(secrets: SecretBox, importId: string, file: ImportFile): string {
  const header = Buffer.from(`${JSON.stringify({ password: file.password ?? null, preSharedKey: file.preSharedKey ?? null })}\n`, 'utf8');
  return secrets.encrypt(gzipSync(Buffer.concat([header, file.content]), { level: 1 }), context(importId));
}

export function openImportFile(secrets: SecretBox, importId: string, sealed: string): ImportFile {
  const plain = gunzipSync(secrets.decrypt(sealed, context(importId)));
  const newline = plain.indexOf(0x0a);
  // Files sealed before pre-shared keys were supported have no preSharedKey in their header.
  const { password, preSharedKey } = JSON.parse(plain.subarray(0, newline).toString('utf8')) as { password: string | null; preSharedKey?: string | null };
  return { content: plain.subarray(newline + 1), password: password ?? undefined, preSharedKey: preSharedKey ?? undefined };
}

/** Throws ImportFormatError naming the bad line or element; returns every token otherwise. */
export function parseImportFile(format: ImportFormat, file: ImportFile): ImportedToken[] {
  const text = file.content.toString('utf8');
  return format === 'csv' ? parseTokenCsv(text) : parseTokenPskc(text, { password: file.password, preSharedKey: file.preSharedKey });
}

/** An explicit choice wins; then the extension; then a look at the first character (XML starts with `<`). */
export function detectFormat(choice: string | undefined, filename: string, content: Buffer): ImportFormat {
  if (choice === 'csv' || choice === 'pskc') return choice;
  const ext = filename.toLowerCase().split('.').pop() ?? '';
  if (ext === 'csv' || ext === 'txt') return 'csv';
  if (ext === 'xml' || ext === 'pskc' || ext === 'pskcxml') return 'pskc';
  return content.subarray(0, 256).toString('utf8').replace(/^\uFEFF/, '').trimStart().startsWith('<') ? 'pskc' : 'csv';
}
