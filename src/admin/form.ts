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
