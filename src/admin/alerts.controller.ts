/** Console: Settings → Alerts. Each admin chooses their own alert emails; owners also see who receives what. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { ValidationError } from '../lib/errors';
import { flash, redirect, render } from '../web/views';
import { ALERT_KINDS, ALERT_LABELS } from '../alerts/alert-kinds';

const VIEW = { page: 'admin/alerts/index' };

export function createAlertsController({ alerts }: Services) {
  async function page(req: Request, res: Response, data: Record<string, unknown>, status = 200) {
    const overview = req.actor!.role === 'owner' ? await alerts.overview(req.actor!) : undefined;
    render(req, res, VIEW, { kinds: ALERT_KINDS, labels: ALERT_LABELS, overview, errors: {}, ...data }, status);
  }

  return {
    async show(req: Request, res: Response) {
      await page(req, res, { mine: await alerts.mine(req.actor!) });
    },

    async save(req: Request, res: Response) {
      const raw = req.body.kinds;
      const kinds = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
      try {
        const saved = await alerts.setMine(req.actor!, { kinds });
        flash(req, 'success', saved.length ? `Alerts saved: you receive ${saved.length} kind${saved.length === 1 ? '' : 's'} of alert emails.` : 'Alerts saved: you receive no alert emails.');
        redirect(req, res, '/admin/alerts');
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        await page(req, res, { mine: kinds, errors: { kinds: Object.values(err.fields)[0] } }, 422);
      }
    },
  };
}
