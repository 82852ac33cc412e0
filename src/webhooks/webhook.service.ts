/**
 * Tenant webhook endpoints (issue 13 §1): create (the secret is shown once, stored sealed),
 * update, delete, rotate the secret (the old one signs along for 24 h), list deliveries and
 * redeliver a dead one. Owners only, and API keys (the issue lists these routes in the API).
 * Every change is audited in its transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/knex';
import type { SecretBox } from '../lib/secret-box';
import type { Actor } from '../audit/actor';
import { recordAudit } from '../audit/audit.repository';
import { ForbiddenError, NotFoundError, ValidationError, ConflictError } from '../lib/errors';
import { parseInput } from '../lib/validation';
import { toPage, type Page, type PageRequest } from '../lib/pagination';
import { generateSecret } from './signature';
import { urlProblem, type TargetPolicy } from './address-policy';
import { createEndpointSchema, updateEndpointSchema } from './webhook.types';
import * as repo from './webhook.repository';
import * as deliveries from './delivery.repository';

/** How long the secret replaced by a rotation keeps signing, so receivers can switch without losing events. */
export const ROTATION_OVERLAP_HOURS = 24;
/** Endpoints per tenant: enough for real integrations, bounded so fan-out stays cheap. */
export const MAX_ENDPOINTS = 20;

export type WebhookService = ReturnType<typeof createWebhookService>;

/** Owners (console) and API keys; admins and auditors are refused like for API keys. */
function requireWebhookManager(actor: Actor): void {
  if (actor.type === 'api_key' || actor.type === 'system') return;
  if (actor.type !== 'admin' || actor.role !== 'owner') throw new ForbiddenError('Only an owner can manage webhooks.');
}

export function sealContext(endpointId: string): string {
  return `webhook_endpoint:${endpointId}`;
}

export function createWebhookService(db: Db, secrets: SecretBox, policy: TargetPolicy, hooks: { afterRedeliver?: (deliveryId: string) => void } = {}) {
  function checkUrl(url: string): void {
    const problem = urlProblem(url, policy);
    if (problem) throw new ValidationError({ url: problem });
  }

  async function mustFind(tenantId: string, id: string): Promise<repo.WebhookEndpoint> {
    const endpoint = await repo.findEndpoint(db, tenantId, id);
    if (!endpoint) throw new NotFoundError('Webhook endpoint');
    return endpoint;
  }

  return {
    /** Returns the endpoint and its secret, which is never shown again. */
    async create(actor: Actor, input: unknown): Promise<{ endpoint: repo.WebhookEndpoint; secret: string }> {
      requireWebhookManager(actor);
      const values = parseInput(createEndpointSchema, input);
      checkUrl(values.url);
      const id = randomUUID();
      const secret = generateSecret();
      return db.transaction(async (trx) => {
        const [{ count }] = await trx('webhook_endpoints').where({ tenant_id: actor.tenantId }).count<{ count: string }[]>('* as count');
        if (Number(count) >= MAX_ENDPOINTS) throw new ConflictError(`A tenant can have at most ${MAX_ENDPOINTS} webhook endpoints; delete one first.`);
        const endpoint = await repo.insertEndpoint(trx, actor.tenantId, { id, url: values.url, description: values.description, events: values.events, secretSealed: secrets.encrypt(Buffer.from(secret), sealContext(id)) });
        await recordAudit(trx, actor, { action: 'webhook.create', targetType: 'webhook_endpoint', targetId: id, details: { url: values.url, events: values.events } });
        return { endpoint, secret };
      });
    },

    async list(actor: Actor): Promise<repo.WebhookEndpoint[]> {
      requireWebhookManager(actor);
      return repo.listEndpoints(db, actor.tenantId);
    },

    async get(actor: Actor, id: string): Promise<repo.WebhookEndpoint> {
      requireWebhookManager(actor);
      return mustFind(actor.tenantId, id);
    },

    /** Changes URL, events, description; `enabled: true` re-enables a disabled endpoint (its failure clock starts over). */
    async update(actor: Actor, id: string, input: unknown): Promise<repo.WebhookEndpoint> {
      requireWebhookManager(actor);
      const values = parseInput(updateEndpointSchema, input);
      if (values.url !== undefined) checkUrl(values.url);
      return db.transaction(async (trx) => {
        const before = await repo.findEndpoint(trx, actor.tenantId, id);
        if (!before) throw new NotFoundError('Webhook endpoint');
        const patch: Record<string, unknown> = {};
        if (values.url !== undefined) patch.url = values.url;
        if (values.events !== undefined) patch.events = values.events;
        if (values.description !== undefined && 'description' in (input as object)) patch.description = values.description;
        if (values.enabled === true && before.disabledAt) Object.assign(patch, { disabled_at: null, disabled_reason: null, failing_since: null });
        if (values.enabled === false && !before.disabledAt) Object.assign(patch, { disabled_at: trx.fn.now(), disabled_reason: 'disabled by an owner' });
        const endpoint = await repo.updateEndpoint(trx, actor.tenantId, id, patch);
        if (values.enabled === false && !before.disabledAt) await deliveries.failOpenDeliveries(trx, actor.tenantId, id, 'endpoint disabled');
        const changed = Object.keys(values).filter((k) => (values as Record<string, unknown>)[k] !== undefined);
        await recordAudit(trx, actor, { action: 'webhook.update', targetType: 'webhook_endpoint', targetId: id, details: { fields: changed, url: endpoint!.url, events: endpoint!.events, enabled: !endpoint!.disabledAt } });
        return endpoint!;
      });
    },

    async remove(actor: Actor, id: string): Promise<void> {
      requireWebhookManager(actor);
      await db.transaction(async (trx) => {
        const endpoint = await repo.findEndpoint(trx, actor.tenantId, id);
        if (!endpoint || !(await repo.deleteEndpoint(trx, actor.tenantId, id))) throw new NotFoundError('Webhook endpoint');
        await recordAudit(trx, actor, { action: 'webhook.delete', targetType: 'webhook_endpoint', targetId: id, details: { url: endpoint.url } });
      });
    },

    /** A new secret, shown once; the replaced one keeps signing (a second signature) for 24 h. */
    async rotateSecret(actor: Actor, id: string): Promise<{ endpoint: repo.WebhookEndpoint; secret: string }> {
      requireWebhookManager(actor);
      const secret = generateSecret();
      return db.transaction(async (trx) => {
        if (!(await repo.rotateSecret(trx, actor.tenantId, id, secrets.encrypt(Buffer.from(secret), sealContext(id)), ROTATION_OVERLAP_HOURS))) throw new NotFoundError('Webhook endpoint');
        await recordAudit(trx, actor, { action: 'webhook.secret.rotate', targetType: 'webhook_endpoint', targetId: id, details: { previousValidHours: ROTATION_OVERLAP_HOURS } });
        return { endpoint: (await repo.findEndpoint(trx, actor.tenantId, id))!, secret };
      });
    },

    async listDeliveries(actor: Actor, endpointId: string, page: PageRequest): Promise<Page<deliveries.Delivery>> {
      requireWebhookManager(actor);
      await mustFind(actor.tenantId, endpointId);
      const { items, total } = await deliveries.listDeliveries(db, actor.tenantId, endpointId, page);
      return toPage(items, total, page);
    },

    /** A dead (`failed`) delivery starts again with the same webhook-id and a fresh retry schedule. */
    async redeliver(actor: Actor, endpointId: string, deliveryId: string): Promise<deliveries.Delivery> {
      requireWebhookManager(actor);
      const result = await db.transaction(async (trx) => {
        const endpoint = await repo.findEndpoint(trx, actor.tenantId, endpointId);
        const delivery = endpoint && (await deliveries.findDelivery(trx, actor.tenantId, endpointId, deliveryId));
        if (!endpoint || !delivery) throw new NotFoundError('Delivery');
        if (endpoint.disabledAt) throw new ConflictError('This endpoint is disabled; enable it before redelivering.');
        if (!(await deliveries.restartDelivery(trx, actor.tenantId, deliveryId))) throw new ConflictError('Only a failed delivery can be redelivered; this one is still in progress or was delivered.');
        await recordAudit(trx, actor, { action: 'webhook.redeliver', targetType: 'webhook_delivery', targetId: deliveryId, details: { endpointId, eventId: delivery.eventId, eventType: delivery.eventType } });
        return (await deliveries.findDelivery(trx, actor.tenantId, endpointId, deliveryId))!;
      });
      hooks.afterRedeliver?.(deliveryId);
      return result;
    },
  };
}
