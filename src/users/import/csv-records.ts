/**
 * RFC 4180 records (pure: text in, records out). Fields are separated by commas; a field wrapped
 * in double quotes may hold commas, line breaks and doubled quotes (`""` is one `"`). Lines end
 * with CRLF, LF or CR. Each record carries the file line it starts on (1-based), so a report can
 * point at it even when an earlier quoted field spans several lines. A malformed record (a stray
 * quote, an unclosed quote) is returned with a `problem` rather than throwing, so one bad row
 * never stops the others.
 */
export interface CsvRecord {
  line: number;
  fields: string[];
  problem?: string;
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

export function* csvRecords(text: string): Generator<CsvRecord> {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let problem: string | undefined;
    let field = '';
    for (;;) {
      // One field.
      if (text.charCodeAt(i) === QUOTE) {
        i++;
        let closed = false;
        while (i < n) {
          const q = text.indexOf('"', i);
          if (q === -1) break;
          field += text.slice(i, q);
          i = q + 1;
          if (text.charCodeAt(i) === QUOTE) {
            field += '"';
            i++;
          } else {
            closed = true;
            break;
          }
        }
        if (!closed) {
          // Unclosed: the rest of the file would be one field. Report it and stop there.
          line += countBreaks(text, i, n);
          yield { line: start, fields, problem: 'a quoted field is never closed (a " is missing).' };
          return;
        }
        line += countBreaks(field, 0, field.length);
        // Spaces after a closing quote (some exporters pad) are not part of anything.
        while (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9) i++;
        const c = text.charCodeAt(i);
        if (i < n && c !== COMMA && c !== LF && c !== CR) {
          problem ??= 'text follows a closing quote; a quote inside a quoted field is written twice ("").';
          while (i < n && text.charCodeAt(i) !== COMMA && text.charCodeAt(i) !== LF && text.charCodeAt(i) !== CR) i++;
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF || c === CR) break;
          j++;
        }
        field = text.slice(i, j);
        if (field.includes('"')) problem ??= 'a field holds a quote but does not start with one; wrap the field in quotes and write the quote twice ("").';
        i = j;
      }
      fields.push(field);
      field = '';
      if (i < n && text.charCodeAt(i) === COMMA) {
        i++;
        continue;
      }
      // End of record: a line break or the end of the text.
      if (text.charCodeAt(i) === CR) i++;
      if (text.charCodeAt(i) === LF) i++;
      line++;
      break;
    }
    // Blank lines are not records.
    if (fields.length === 1 && fields[0] === '' && !problem) continue;
    yield problem ? { line: start, fields, problem } : { line: start, fields };
  }
}

function countBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let k = from; k < to; k++) {
    const c = text.charCodeAt(k);
    if (c === LF) count++;
    else if (c === CR && text.charCodeAt(k + 1) !== LF) count++;
  }
  return count;
}
