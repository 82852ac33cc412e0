/** Form fields arrive as strings: these turn them into the typed values services validate. */
export function formText(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value;
}

/** A blank field is "not given"; anything else becomes a number (NaN makes the schema say what is wrong). */
export function formNumber(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  return Number(value.trim());
}

/** Checkboxes send a value only when checked; a hidden "0" before them sends false. */
export function formBoolean(value: unknown): boolean {
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last === 'on' || last === '1' || last === 'true';
}

/** Checkboxes: a repeated field arrives as an array, a single one as a string, none as undefined. */
export function formList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return typeof value === 'string' ? [value] : [];
}
