/** The webhook part of the OpenAPI document (issue 13 §1): paths and schemas, merged by openapi.ts. */
import { z } from 'zod';
import { createEndpointSchema, updateEndpointSchema } from '../webhooks/webhook.types';
import { EVENT_TYPES } from '../webhooks/event-types';

type Json = Record<string, unknown>;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ content: { 'application/json': { schema } } });
const err = (name: string) => ({ $ref: `#/components/responses/${name}` });
const readErrors = { 401: err('Unauthorized'), 403: err('Forbidden'), 404: err('NotFound') };
const writeErrors = { 400: err('BadRequest'), ...readErrors, 409: err('Conflict'), 422: err('ValidationFailed') };
const endpointId = { name: 'id', in: 'path', required: true, description: "The webhook endpoint's id (another tenant's id answers 404).", schema: { type: 'string', format: 'uuid' } };
const deliveryId = { name: 'deliveryId', in: 'path', required: true, description: "The delivery's id (its `webhook-id` header).", schema: { type: 'string', format: 'uuid' } };
const pageParams = [
  { name: 'page', in: 'query', required: false, schema: { type: 'integer', minimum: 1, default: 1 } },
  { name: 'perPage', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 25 } },
];

function op(id: string, summary: string, ok: [number, string, Json?], errors: Json, extra: Json = {}): Json {
  const [status, description, schema] = ok;
  return { operationId: id, summary, tags: ['Webhooks'], ...extra, responses: { [status]: { description, ...(schema ? json(schema) : {}) }, ...errors, 503: err('Unavailable') } };
}

function inputSchema(schema: z.ZodType): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

export const WEBHOOKS_TAG = {
  name: 'Webhooks',
  description:
    'Audit events pushed to your HTTPS endpoints as Standard Webhooks (https://www.standardwebhooks.com): `POST` with headers `webhook-id` (the delivery id, the same on every retry), `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">` keyed with the base64-decoded part of your `whsec_` secret (two signatures, space-separated, for 24 h after a rotation). Body: `{"type", "timestamp", "data"}`. A 2xx answer within 10 s is delivered; anything else (redirects included) is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, then the delivery is failed and can be redelivered. An endpoint that failed everything for 5 days is disabled and the owners are emailed. Event types: ' +
    EVENT_TYPES.map((t) => `\`${t}\``).join(', ') + '.',
};

export const webhookPaths: Json = {
  '/webhooks': {
    get: op('listWebhooks', 'List the webhook endpoints', [200, 'The endpoints', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('WebhookEndpoint') } } }], { 401: err('Unauthorized'), 403: err('Forbidden') }),
    post: op('createWebhook', 'Create an endpoint; the answer holds its signing secret, shown this once', [201, 'The endpoint and its secret', ref('WebhookEndpointWithSecret')], writeErrors, { requestBody: { required: true, ...json(ref('WebhookCreate')) } }),
  },
  '/webhooks/{id}': {
    get: op('getWebhook', 'Get an endpoint', [200, 'The endpoint', ref('WebhookEndpoint')], readErrors, { parameters: [endpointId] }),
    patch: op('updateWebhook', 'Change an endpoint; `enabled: true` re-enables a disabled one', [200, 'The endpoint', ref('WebhookEndpoint')], writeErrors, { parameters: [endpointId], requestBody: { required: true, ...json(ref('WebhookPatch')) } }),
    delete: op('deleteWebhook', 'Delete an endpoint and its delivery history', [204, 'Deleted'], readErrors, { parameters: [endpointId] }),
  },
  '/webhooks/{id}/rotate-secret': {
    post: op('rotateWebhookSecret', 'Replace the signing secret (shown this once); the old one keeps signing alongside for 24 h', [200, 'The endpoint and its new secret', ref('WebhookEndpointWithSecret')], readErrors, { parameters: [endpointId] }),
  },
  '/webhooks/{id}/deliveries': {
    get: op('listWebhookDeliveries', 'The endpoint\'s deliveries, newest first', [200, 'A page of deliveries', { type: 'object', required: ['items', 'page', 'perPage', 'total'], properties: { items: { type: 'array', items: ref('WebhookDelivery') }, page: { type: 'integer' }, perPage: { type: 'integer' }, total: { type: 'integer' } } }], readErrors, { parameters: [endpointId, ...pageParams] }),
  },
  '/webhooks/{id}/deliveries/{deliveryId}/redeliver': {
    post: op('redeliverWebhook', 'Send a failed (dead) delivery again, same webhook-id, fresh retry schedule', [202, 'Queued again', ref('WebhookDelivery')], { ...readErrors, 409: err('Conflict') }, { parameters: [endpointId, deliveryId] }),
  },
};

const endpointProperties: Json = {
  id: { type: 'string', format: 'uuid' },
  url: { type: 'string' },
  description: { type: ['string', 'null'] },
  events: { type: 'array', items: { type: 'string', enum: ['*', ...EVENT_TYPES] } },
  enabled: { type: 'boolean' },
  disabledAt: { type: ['string', 'null'], format: 'date-time' },
  disabledReason: { type: ['string', 'null'] },
  failingSince: { type: ['string', 'null'], format: 'date-time', description: 'Since when every attempt failed (null after a success)' },
  previousSecretExpiresAt: { type: ['string', 'null'], format: 'date-time', description: 'Until when the secret replaced by the last rotation still signs' },
  createdAt: { type: 'string', format: 'date-time' },
  updatedAt: { type: 'string', format: 'date-time' },
};

export const webhookSchemas: Json = {
  WebhookCreate: inputSchema(createEndpointSchema),
  WebhookPatch: inputSchema(updateEndpointSchema),
  WebhookEndpoint: { type: 'object', required: Object.keys(endpointProperties), properties: endpointProperties },
  WebhookEndpointWithSecret: { type: 'object', required: [...Object.keys(endpointProperties), 'secret'], properties: { ...endpointProperties, secret: { type: 'string', pattern: '^whsec_', description: 'Shown once; keep it to verify signatures' } } },
  WebhookDelivery: {
    type: 'object',
    required: ['id', 'eventId', 'eventType', 'status', 'attempts', 'lastStatusCode', 'lastError', 'nextAttemptAt', 'lastAttemptAt', 'deliveredAt', 'createdAt'],
    properties: {
      id: { type: 'string', format: 'uuid', description: 'The `webhook-id` header' },
      eventId: { type: 'string' },
      eventType: { type: 'string' },
      status: { type: 'string', enum: ['pending', 'delivered', 'retrying', 'failed'] },
      attempts: { type: 'integer' },
      lastStatusCode: { type: ['integer', 'null'] },
      lastError: { type: ['string', 'null'] },
      nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
      lastAttemptAt: { type: ['string', 'null'], format: 'date-time' },
      deliveredAt: { type: ['string', 'null'], format: 'date-time' },
      createdAt: { type: 'string', format: 'date-time' },
    },
  },
  WebhookEventTypes: { type: 'string', enum: ['*', ...EVENT_TYPES] },
};
