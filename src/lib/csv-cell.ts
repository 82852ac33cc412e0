/** One CSV cell for files people open in a spreadsheet. */

/**
 * A spreadsheet would run a cell starting with = + - @ (or a tab / carriage return before them)
 * as a formula: such cells get a leading quote. Quotes, commas and line breaks are quoted (RFC 4180).
 */
export function csvCell(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? '' : String(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
