/**
 * Refuses text that no field may hold, where input enters (after the body parsers): PostgreSQL
 * rejects a NUL byte in text with an error (a 500 before this guard), a lone UTF-16 surrogate
 * cannot be encoded as UTF-8 (it would be stored as U+FFFD, or break a lookup), control
 * characters have no place in names, logins or codes, and a value longer than any field allows
 * only costs us work. Tab, line feed and carriage return stay allowed (text areas).
 *
 * One pass over the parsed values, one regex test per string: the validation hot path pays a few
 * hundred nanoseconds for its three fields.
 */
import type { NextFunction, Request, Response } from 'express';
import { BadRequestError } from '../lib/errors';

/** Longer than any field of any form or schema (the longest, WebAuthn's base64url parts, cap at 16 384). */
export const MAX_TEXT_LENGTH = 20_000;
/** Deeper than any body we accept; deeper JSON is refused before anything recurses through it. */
const MAX_DEPTH = 16;

// C0 controls but tab, LF and CR; DEL and the C1 controls; a high surrogate not followed by a low
// one; a low surrogate not preceded by a high one.
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The field name as a reader can see it (a hostile key is shown escaped, never raw). */
function label(path: string): string {
  return JSON.stringify(path || 'body');
}

function problemOfText(text: string, path: string): string | undefined {
  if (text.length > MAX_TEXT_LENGTH) return `The field ${label(path)} is too long (at most ${MAX_TEXT_LENGTH} characters).`;
  const bad = FORBIDDEN.exec(text);
  if (!bad) return undefined;
  const what = bad[0] === '\u0000' ? 'a NUL byte' : bad[0].charCodeAt(0) >= 0xd800 ? 'an invalid character (a lone UTF-16 surrogate)' : 'a control character';
  return `The field ${label(path)} contains ${what}, which is not allowed.`;
}

/**
 * The first problem in a parsed body or query (strings, and the keys and values of objects and
 * arrays, at any depth up to MAX_DEPTH), as a message naming the field; undefined when clean.
 */
export function findInputProblem(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'string') return problemOfText(value, path);
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return `The field ${label(path)} is nested too deeply.`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = findInputProblem(value[i], path ? `${path}.${i}` : String(i), depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key in value) {
    const field = path ? `${path}.${key}` : key;
    const problem = problemOfText(key, field) ?? findInputProblem((value as Record<string, unknown>)[key], field, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** Middleware after a body parser: a bad body or query string answers 400 naming the field. */
export function refuseBadInput(req: Request, _res: Response, next: NextFunction): void {
  const problem = findInputProblem(req.body) ?? (req.url.includes('?') ? findInputProblem(req.query) : undefined);
  if (problem) throw new BadRequestError(problem);
  next();
}
