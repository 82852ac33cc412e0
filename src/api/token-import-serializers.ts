/**
 * The API's shape of a hardware token import: the same as a user import's (`created` = tokens
 * created), so clients poll both alike. A token import only creates, so `updated` and `unchanged`
 * are always 0.
 */
import { z } from 'zod';
import type { TokenImport } from '../tokens/import/import.service';
import { lineOf } from '../tokens/import/import.types';

export const tokenImportStartedJson = z.object({
  id: z.uuid(),
  status: z.enum(['queued', 'running', 'done', 'failed']),
});

export const tokenImportJson = tokenImportStartedJson.extend({
  total: z.int().describe('tokens in the file'),
  processed: z.int().describe('tokens handled so far'),
  created: z.int().describe('tokens created'),
  updated: z.int().describe('always 0: a token import never changes an existing token (a file with a serial already in use is refused whole)'),
  unchanged: z.int().describe('always 0, as updated'),
  errors: z
    .array(z.object({ line: z.int().nullable().describe('line of the file (for PSKC, of the KeyPackage); null for the file as a whole'), message: z.string() }))
    .describe('why the import failed, and rows skipped because their serial was taken by another token after the file was checked (at most 100 listed; total - created is the count)'),
});

export type TokenImportJson = z.infer<typeof tokenImportJson>;

export function serializeTokenImport(i: TokenImport): TokenImportJson {
  const failure = i.error ? [{ line: lineOf(i.error), message: i.error }] : [];
  return {
    id: i.id,
    status: i.status,
    total: i.total,
    processed: i.processed,
    created: i.created,
    updated: 0,
    unchanged: 0,
    errors: [...failure, ...i.rowErrors.map((e) => ({ line: e.line, message: e.message }))],
  };
}
