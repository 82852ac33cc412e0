/** API: tenant webhook endpoints and their deliveries (issue 13 §1). Thin: the service checks, scopes and audits. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import type { WebhookEndpoint } from '../webhooks/webhook.repository';
import type { Delivery } from '../webhooks/delivery.repository';
import { jsonObject, listQuery, param } from './input';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function serializeEndpoint(e: WebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: e.events,
    enabled: !e.disabledAt,
    disabledAt: iso(e.disabledAt),
    disabledReason: e.disabledReason,
    failingSince: iso(e.failingSince),
    previousSecretExpiresAt: iso(e.previousSecretExpiresAt),
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

export function serializeDelivery(d: Delivery) {
  return {
    id: d.id,
    eventId: String(d.eventId),
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    nextAttemptAt: d.status === 'delivered' || d.status === 'failed' ? null : iso(d.nextAttemptAt),
    lastAttemptAt: iso(d.lastAttemptAt),
    deliveredAt: iso(d.deliveredAt),
    createdAt: iso(d.createdAt),
  };
}

export function createApiWebhooksController({ webhooks }: Services) {
  return {
    async create(req: Request, res: Response) {
      const { endpoint, secret } = await webhooks.create(req.actor!, jsonObject(req));
      res.set('Cache-Control', 'no-store').status(201).json({ ...serializeEndpoint(endpoint), secret });
    },
    async list(req: Request, res: Response) {
      res.json({ items: (await webhooks.list(req.actor!)).map(serializeEndpoint) });
    },
    async show(req: Request, res: Response) {
      res.json(serializeEndpoint(await webhooks.get(req.actor!, param(req, 'id'))));
    },
    async update(req: Request, res: Response) {
      res.json(serializeEndpoint(await webhooks.update(req.actor!, param(req, 'id'), jsonObject(req))));
    },
    async remove(req: Request, res: Response) {
      await webhooks.remove(req.actor!, param(req, 'id'));
      res.status(204).end();
    },
    async rotateSecret(req: Request, res: Response) {
      const { endpoint, secret } = await webhooks.rotateSecret(req.actor!, param(req, 'id'));
      res.set('Cache-Control', 'no-store').json({ ...serializeEndpoint(endpoint), secret });
    },
    async deliveries(req: Request, res: Response) {
      const page = await webhooks.listDeliveries(req.actor!, param(req, 'id'), listQuery(req).page);
      res.json({ items: page.items.map(serializeDelivery), page: page.page, perPage: page.perPage, total: page.total });
    },
    async redeliver(req: Request, res: Response) {
      res.status(202).json(serializeDelivery(await webhooks.redeliver(req.actor!, param(req, 'id'), param(req, 'deliveryId'))));
    },
  };
}
