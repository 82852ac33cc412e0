/** Offset paging shared by lists in the console and the API. */
export interface PageRequest {
  page: number;
  perPage: number;
}

export interface Page<T> extends PageRequest {
  items: T[];
  total: number;
  pages: number;
}

export function pageRequest(query: { page?: unknown; perPage?: unknown }, defaultPerPage = 25): PageRequest {
  const page = Math.max(1, Math.min(100_000, Number.parseInt(String(query.page ?? '1'), 10) || 1));
  const perPage = Math.max(1, Math.min(100, Number.parseInt(String(query.perPage ?? defaultPerPage), 10) || defaultPerPage));
  return { page, perPage };
}

export function toPage<T>(items: T[], total: number, req: PageRequest): Page<T> {
  return { ...req, items, total, pages: Math.max(1, Math.ceil(total / req.perPage)) };
}
