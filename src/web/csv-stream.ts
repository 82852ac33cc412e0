/** Writes a CSV download batch by batch, so an export of any size holds one batch in memory. */
import type { Response } from 'express';
import { csvCell } from '../lib/csv-cell';

/**
 * Sends `header` then each batch's rows (cells escaped and formula-guarded by csvCell), waiting
 * for the socket to drain between batches and stopping when the client has gone. A failure after
 * the first byte cuts the connection, so the download fails visibly instead of ending as a file
 * that looks complete; the error is rethrown for the error handler to log.
 */
export async function streamCsv<T>(res: Response, filename: string, header: string[], batches: AsyncIterable<T[]>, cells: (row: T) => Array<string | number>): Promise<void> {
  res.set('Content-Disposition', `attachment; filename="${filename}"`).set('Cache-Control', 'no-store').type('text/csv; charset=utf-8');
  // The BOM makes spreadsheet programs read the file as UTF-8.
  res.write(`\uFEFF${header.map(csvCell).join(',')}\r\n`);
  try {
    for await (const batch of batches) {
      const text = batch.map((row) => cells(row).map(csvCell).join(',')).join('\r\n');
      if (text && !res.write(`${text}\r\n`)) await new Promise((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
      if (res.destroyed) return;
    }
  } catch (err) {
    res.destroy();
    throw err;
  }
  res.end();
}
