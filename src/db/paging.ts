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
