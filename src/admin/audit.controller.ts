/** Console: the tenant's audit log with filters, keyset paging (Newer / Older) and CSV export. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { ValidationError } from '../lib/errors';
import { filterParams, parseAuditQuery } from '../audit/audit-filter';
import { ACTION_WORDS, ACTOR_TYPE_WORDS, ACTOR_TYPES, KNOWN_ACTIONS } from '../audit/audit-words';
import { CSV_HEADER, csvCells, describeEvent } from '../audit/audit-rows';
import { streamCsv } from '../web/csv-stream';
import { render } from '../web/views';

const str = (v: unknown) => (typeof v === 'string' ? v : '');
/** Why a check failed ("wrong_code" → "wrong code"), when the event says so. */
const reasonOf = (details: Record<string, unknown>) => (typeof details?.reason === 'string' && details.reason !== 'ok' ? details.reason.replace(/_/g, ' ') : '');

export function createAuditController({ audit, resources }: Services) {
  /** The values shown back in the form, and the select options. */
  async function formData(req: Request) {
    const q = req.query;
    // Scoped by the actor: an admin limited to some resources picks among those only.
    const offered = await resources.options(req.actor!);
    return {
      values: { from: str(q.from), to: str(q.to), actorType: str(q.actorType), actor: str(q.actor), action: str(q.action), resource: str(q.resource), user: str(q.user), result: str(q.result), q: str(q.q) },
      actorTypes: [['', 'Anyone'], ...ACTOR_TYPES.map((t) => [t, ACTOR_TYPE_WORDS[t]])],
      actions: [['', 'All actions'], ...KNOWN_ACTIONS.map((a) => [a, ACTION_WORDS[a]])],
      resources: [['', 'All resources'], ...offered.map((r) => [r.id, r.name])],
      filters: filterParams(q).toString(),
    };
  }

  return {
    async list(req: Request, res: Response) {
      const view = { page: 'admin/audit/index', partial: 'admin/audit/_table' };
      const form = await formData(req);
      let parsed;
      try {
        parsed = parseAuditQuery(req.query, { strict: false });
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        return render(req, res, view, { ...form, errors: err.fields, rows: [], page: null }, 422);
      }
      const page = await audit.list(req.actor!, parsed.filter, parsed.page);
      const rows = page.items.map((e) => ({ ...describeEvent(e), id: e.id, actionId: e.action, createdAt: e.created_at, ok: e.result === 'success', ip: e.ip ?? '', reason: reasonOf(e.details) }));
      const filtered = form.filters !== '';
      render(req, res, view, { ...form, errors: {}, rows, page, filtered, paged: parsed.page.before !== undefined || parsed.page.after !== undefined });
    },

    /** The filtered log as CSV, streamed; a bad filter is the same 422 page as the list. */
    async exportCsv(req: Request, res: Response) {
      const { filter } = parseAuditQuery(req.query, { strict: false });
      const day = new Date().toISOString().slice(0, 10);
      await streamCsv(res, `audit-log-${day}.csv`, CSV_HEADER, audit.export(req.actor!, filter), csvCells);
    },
  };
}
