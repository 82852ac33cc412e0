/** One page of a filtered query plus the filter's total, fetched in parallel. */
import type { Knex } from 'knex';
import type { PageRequest } from '../lib/pagination';

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
