/** Turns zod failures into a ValidationError with one message per field. */
import type { z } from 'zod';
import { ValidationError, type FieldErrors } from './errors';

export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: FieldErrors = {};
  for (const issue of result.error.issues) {
    const prefix = issue.path.length ? `${issue.path.join('.')}.` : '';
    if (issue.code === 'unrecognized_keys') {
      // Name each unknown field on its own, so a typo like "pinPostion" is obvious.
      for (const key of issue.keys) fields[prefix + key] ??= 'This field is not recognised.';
      continue;
    }
    const key = issue.path.length ? issue.path.join('.') : '_';
    fields[key] ??= issue.message;
  }
  throw new ValidationError(fields);
}

/** Form fields arrive as strings; blank means "not given". */
export function blankToUndefined(value: unknown): unknown {
  return typeof value === 'string' && value.trim() === '' ? undefined : value;
}
