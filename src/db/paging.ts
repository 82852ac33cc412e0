/** One page of a filtered query plus the filter's total, fetched in parallel. */
import type { Knex } from 'knex';
import type { PageRequest } from '../lib/pagination';
import type { Queryable } from './knex';

/**
 * `base` holds the joins and filters; `shape` adds the select list and the order to a copy of it.
 * The total counts `base` alone, so it matches the filter whatever `shape` selects.
 */
export async function fetchPage(
  base: Knex.QueryBuilder,
  page: PageRequest,
  shape: (query: Knex.QueryBuilder) => Knex.QueryBuilder,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ rows: any[]; total: number }> {
  const [rows, [{ count }]] = await Promise.all([
    shape(base.clone()).limit(page.perPage).offset((page.page - 1) * page.perPage),
    base.clone().count<{ count: string }[]>('* as count'),
  ]);
  return { rows, total: Number(count) };
}

/**
 * One page for large lists: `ordered` (the filter with its order, selecting only the key) picks
 * the page's keys first, narrow enough for an index-only scan that skips a deep page's rows
 * without reading them; `rows` then reads, joins and decorates those keys only. The total counts
 * `count` (default: `base`), which a caller may point at a narrower table with the same rows.
 */
export async function fetchPageByKey(
  ordered: Knex.QueryBuilder,
  page: PageRequest,
  rows: (keys: Knex.QueryBuilder) => Knex.QueryBuilder,
  count: Knex.QueryBuilder,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ rows: any[]; total: number }> {
  const keys = ordered.limit(page.perPage).offset((page.page - 1) * page.perPage);
  const [found, [{ count: total }]] = await Promise.all([rows(keys), count.count<{ count: string }[]>('* as count')]);
  return { rows: found, total: Number(total) };
}

/**
 * One page of a search that may match most of a tenant (an email domain): `matches` (selecting
 * `id` and `sort_key`) is computed once, as a materialised CTE, then counted and paged by the same
 * statement, so each row is tested once, not once for the page and again for the total. `rows`
 * then reads the page's ids. Used where testing a row is the cost (users: a LIKE per row).
 */
export async function fetchMatchesPage(
  q: Queryable,
  matches: Knex.QueryBuilder,
  page: PageRequest,
  rows: (ids: string[]) => Knex.QueryBuilder,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ rows: any[]; total: number }> {
  const found: Array<{ total: number; id: string | null }> = await q
    .withMaterialized('matches', matches)
    .from(q.raw('(SELECT count(*)::int AS total FROM matches) n'))
    .joinRaw('LEFT JOIN LATERAL (SELECT id, sort_key FROM matches ORDER BY sort_key, id LIMIT ? OFFSET ?) p ON true', [page.perPage, (page.page - 1) * page.perPage])
    .select('n.total', 'p.id')
    .orderBy(['p.sort_key', 'p.id']);
  const ids = found.flatMap((r) => (r.id === null ? [] : [r.id]));
  return { rows: ids.length === 0 ? [] : await rows(ids), total: found[0]?.total ?? 0 };
}
