/** Console (owners only): Settings → Webhooks. Endpoints, their secret shown once, deliveries and redelivery. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { ValidationError } from '../lib/errors';
import { pageRequest } from '../lib/pagination';
import { flash, redirect, render } from '../web/views';
import { formBoolean, formText } from './form';
import { EVENT_TYPES } from '../webhooks/event-types';

const LIST = { page: 'admin/webhooks/index' };
const SHOW = { page: 'admin/webhooks/show' };

/** Event types grouped by their first word, for the checkbox lists. */
export const EVENT_GROUPS = Object.entries(
  EVENT_TYPES.reduce<Record<string, string[]>>((groups, t) => {
    (groups[t.split('.')[0]] ??= []).push(t);
    return groups;
  }, {}),
);

/** The form's events: "all" or the ticked types (checkboxes send one value or several). */
function formEvents(body: Record<string, unknown>): string[] {
  if (body.scope !== 'selected') return ['*'];
  const raw = body.events;
  return (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
}

function formValues(body: Record<string, unknown>) {
  return { url: formText(body.url) ?? '', description: formText(body.description) ?? '', events: formEvents(body) };
}

export function createWebhooksController({ webhooks }: Services) {
  async function showPage(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) {
    const endpoint = await webhooks.get(req.actor!, req.params.id as string);
    const deliveries = await webhooks.listDeliveries(req.actor!, endpoint.id, pageRequest(req.query as Record<string, unknown>));
    const reveal = req.session.revealWebhookSecret?.endpointId === endpoint.id ? req.session.revealWebhookSecret.secret : undefined;
    delete req.session.revealWebhookSecret;
    res.set('Cache-Control', 'no-store');
    render(req, res, SHOW, { endpoint, deliveries, reveal, groups: EVENT_GROUPS, values: { url: endpoint.url, description: endpoint.description ?? '', events: endpoint.events }, errors: {}, ...extra }, status);
  }

  return {
    async list(req: Request, res: Response) {
      render(req, res, LIST, { endpoints: await webhooks.list(req.actor!), groups: EVENT_GROUPS, values: { events: ['*'] }, errors: {} });
    },

    async create(req: Request, res: Response) {
      const values = formValues(req.body);
      try {
        const { endpoint, secret } = await webhooks.create(req.actor!, { ...values, description: values.description || null });
        req.session.revealWebhookSecret = { endpointId: endpoint.id, secret };
        redirect(req, res, `/admin/webhooks/${endpoint.id}`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        render(req, res, LIST, { endpoints: await webhooks.list(req.actor!), groups: EVENT_GROUPS, values, errors: err.fields }, 422);
      }
    },

    show: (req: Request, res: Response) => showPage(req, res),

    async update(req: Request, res: Response) {
      const values = formValues(req.body);
      try {
        await webhooks.update(req.actor!, req.params.id as string, { ...values, description: values.description || null, enabled: formBoolean(req.body.enabled) });
        flash(req, 'success', 'Webhook endpoint saved.');
        redirect(req, res, `/admin/webhooks/${req.params.id}`);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        await showPage(req, res, { values, errors: err.fields }, 422);
      }
    },

    async rotate(req: Request, res: Response) {
      const { endpoint, secret } = await webhooks.rotateSecret(req.actor!, req.params.id as string);
      req.session.revealWebhookSecret = { endpointId: endpoint.id, secret };
      flash(req, 'success', 'New secret created. The previous one keeps signing alongside it for 24 hours.');
      redirect(req, res, `/admin/webhooks/${endpoint.id}`);
    },

    async deleteConfirm(req: Request, res: Response) {
      render(req, res, { page: 'admin/webhooks/delete' }, { endpoint: await webhooks.get(req.actor!, req.params.id as string) });
    },

    async remove(req: Request, res: Response) {
      const endpoint = await webhooks.get(req.actor!, req.params.id as string);
      await webhooks.remove(req.actor!, endpoint.id);
      flash(req, 'success', `Webhook endpoint ${endpoint.url} deleted.`);
      redirect(req, res, '/admin/webhooks');
    },

    async redeliver(req: Request, res: Response) {
      await webhooks.redeliver(req.actor!, req.params.id as string, req.params.deliveryId as string);
      flash(req, 'success', 'Delivery queued again.');
      redirect(req, res, `/admin/webhooks/${req.params.id}`);
    },
  };
}
