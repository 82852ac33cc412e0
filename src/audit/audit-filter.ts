/**
 * The audit log's filters and cursor, read from a query string (console form or API), checked
 * with zod. One schema for both surfaces, so a filter means the same everywhere; a bad value is
 * a ValidationError naming the parameter (422), never a 500 from PostgreSQL.
 */
import { z } from 'zod';
import { parseInput } from '../lib/validation';
import { ValidationError } from '../lib/errors';
import { ACTOR_TYPES, type ActorType } from './audit-words';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

export interface AuditFilter {
  /** Events at or after this instant. */
  from?: Date;
  /** Events strictly before this instant (a date-only `to` is the next midnight UTC: that day included). */
  until?: Date;
  actorType?: ActorType;
  /** An actor's id, or the name they are shown by (admin email or name, API key name, user login, system label). */
  actor?: string;
  action?: string;
  resourceId?: string;
  /** The user the event is about: login or id. */
  user?: string;
  result?: 'success' | 'failure';
  /** Free text: see AuditSearch in the repository. */
  q?: string;
}

export interface AuditPageRequest {
  /** Events older than the event with this id (the "Older" link / nextCursor). */
  before?: number;
  /** Events newer than the event with this id (the console's "Newer" link). */
  after?: number;
  limit: number;
}

const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v);
const text = (name: string, max: number) =>
  z.preprocess(blank, z.string({ error: `Give ${name} once, as text.` }).max(max, `${name} is at most ${max} characters.`).optional());

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const instant = (name: string) =>
  z.preprocess(
    blank,
    z
      .string({ error: `Give ${name} once, as a date.` })
      .refine((v) => (DATE_ONLY.test(v) ? z.iso.date().safeParse(v).success : z.iso.datetime({ offset: true }).safeParse(v).success), {
        message: `${name} must be a date (2026-12-31) or an ISO 8601 date and time with a time zone (2026-12-31T23:59:00Z).`,
      })
      .optional(),
  );
const cursor = (name: string) =>
  z.preprocess(blank, z.string({ error: `Give ${name} once.` }).regex(/^[1-9]\d{0,15}$/, `${name} must be an event id (a positive whole number).`).transform(Number).optional());

const shape = {
  from: instant('from'),
  to: instant('to'),
  actorType: z.preprocess(blank, z.enum(ACTOR_TYPES, { error: `actorType must be one of: ${ACTOR_TYPES.join(', ')}.` }).optional()),
  actor: text('actor', 200),
  action: z.preprocess(blank, z.string({ error: 'Give action once, as text.' }).regex(/^[a-z][a-z0-9_.]{0,99}$/, 'action must be an action id, like user.block.').optional()),
  resource: z.preprocess(blank, z.uuid({ error: 'resource must be a resource id (a UUID).' }).optional()),
  user: text('user', 200),
  result: z.preprocess(blank, z.enum(['success', 'failure'], { error: 'result must be success or failure.' }).optional()),
  q: text('q', 200),
  before: cursor('before'),
  after: cursor('after'),
  limit: z.preprocess(blank, z.string({ error: 'Give limit once.' }).regex(/^\d{1,4}$/, `limit must be a whole number from 1 to ${MAX_LIMIT}.`).transform(Number)
    .refine((n) => n >= 1 && n <= MAX_LIMIT, `limit must be a whole number from 1 to ${MAX_LIMIT}.`).optional()),
};

/** The console ignores parameters it does not know (htmx, old bookmarks); the API names them. */
const lenient = z.object(shape);
const strict = z.strictObject(shape);

function nextDay(date: string): Date {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000);
}

/** Parses filters and cursor; throws ValidationError (422) with one message per bad parameter. */
export function parseAuditQuery(query: Record<string, unknown>, options: { strict: boolean; defaultLimit?: number }): { filter: AuditFilter; page: AuditPageRequest } {
  // Each field on its own first, then the pairs, so one answer names every bad parameter.
  const fields: Record<string, string> = {};
  let input: z.output<typeof lenient> | undefined;
  try {
    input = parseInput(options.strict ? strict : lenient, query);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    Object.assign(fields, err.fields);
  }
  const fromText = shape.from.safeParse(query.from).data;
  const toText = shape.to.safeParse(query.to).data;
  const from = fromText ? new Date(DATE_ONLY.test(fromText) ? `${fromText}T00:00:00Z` : fromText) : undefined;
  // A date-only "to" includes its whole day; a date and time includes that instant.
  const until = toText ? (DATE_ONLY.test(toText) ? nextDay(toText) : new Date(Date.parse(toText) + 1)) : undefined;
  if (from && until && from >= until) fields.to ??= 'to must be after from.';
  if (blank(query.before) !== undefined && blank(query.after) !== undefined) fields.after ??= 'Give before or after, not both.';
  if (Object.keys(fields).length || !input) throw new ValidationError(fields);
  return {
    filter: { from, until, actorType: input.actorType, actor: input.actor, action: input.action, resourceId: input.resource, user: input.user, result: input.result, q: input.q },
    page: { before: input.before, after: input.after, limit: input.limit ?? options.defaultLimit ?? DEFAULT_LIMIT },
  };
}

/** The filter as query-string pairs (for Newer/Older and Export links), blank ones left out. */
export function filterParams(query: Record<string, unknown>): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ['from', 'to', 'actorType', 'actor', 'action', 'resource', 'user', 'result', 'q'] as const) {
    const value = query[key];
    if (typeof value === 'string' && value.trim() !== '') params.set(key, value.trim());
  }
  return params;
}
