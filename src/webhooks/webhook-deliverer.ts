/**
 * One attempt of one delivery (the `webhooks.deliver` job; issue 13 §1). Claims the attempt (a
 * lease, so it runs once even if the job runs twice), signs the event as Standard Webhooks says,
 * POSTs it, and records the result: delivered, retrying at the next step of the schedule, or
 * failed (dead) after the last. An endpoint whose every attempt failed for 5 days is disabled and
 * its owners are emailed, in the transaction that records the failure. Delivery attempts are not
 * audit events: a "*" endpoint would otherwise receive an event for each of its own deliveries.
 */
import type { Db, Queryable } from '../db/knex';
import type { SecretBox } from '../lib/secret-box';
import type { Logger } from '../lib/logger';
import type { MessageService } from '../outbox/message.service';
import type { WebhookConfig } from '../config';
import { recordAudit } from '../audit/audit.repository';
import { systemActor } from '../audit/actor';
import { signatureHeader } from './signature';
import { sendWebhook, type SendResult } from './webhook-sender';
import { findSecrets } from './webhook.repository';
import { sealContext } from './webhook.service';
import * as deliveries from './delivery.repository';

/** An endpoint that has failed everything for this long is disabled. */
export const DISABLE_AFTER_MS = 5 * 24 * 3600 * 1000;

/** What each attempt came to, for metrics (`mfa_webhook_deliveries_total{result}`): dead = failed with no retry left (schedule used up, or the endpoint disabled by this failure). */
export type DeliveryResult = 'delivered' | 'failed' | 'dead';

export interface DelivererOptions {
  /** Called once per attempt made (not for a job that found nothing to do). */
  onDeliveryResult?: (result: DeliveryResult) => void;
  /** The clock for the 5-day rule (tests move it). */
  now?: () => Date;
}

/** The Standard Webhooks body: `{type, timestamp, data}`, data being the audit event. */
export function eventPayload(e: Record<string, any>): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.stringify({
    type: e.action,
    timestamp: new Date(e.created_at).toISOString(),
    data: {
      eventId: String(e.id),
      actor: { type: e.actor_type, id: e.actor_id, label: e.actor_label },
      target: e.target_type ? { type: e.target_type, id: e.target_id } : null,
      resourceId: e.resource_id,
      result: e.result,
      ip: e.ip,
      details: e.details ?? {},
    },
  });
}

export type WebhookDeliverer = ReturnType<typeof createWebhookDeliverer>;

export function createWebhookDeliverer(db: Db, secrets: SecretBox, messages: MessageService, config: WebhookConfig, log: Logger, options: DelivererOptions = {}) {
  const now = options.now ?? (() => new Date());
  // Longer than an attempt can take, so a live attempt is never claimed twice; a killed one is
  // retried once it has passed.
  const leaseMs = config.timeoutMs + 5_000;

  /** Disables the endpoint when its failures have lasted 5 days; emails the owners. In the caller's transaction. */
  async function noteFailure(trx: Queryable, tenantId: string, endpointId: string): Promise<{ disabled: boolean; dispatch: Array<() => Promise<void>> }> {
    const at = now();
    const [row] = await trx('webhook_endpoints')
      .where({ tenant_id: tenantId, id: endpointId })
      .update({ failing_since: trx.raw('coalesce(failing_since, ?)', [at]) })
      .returning(['url', 'failing_since', 'disabled_at']);
    if (!row || row.disabled_at || at.getTime() - new Date(row.failing_since).getTime() < DISABLE_AFTER_MS) return { disabled: false, dispatch: [] };
    const reason = `every delivery failed since ${new Date(row.failing_since).toISOString()}`;
    await trx('webhook_endpoints').where({ tenant_id: tenantId, id: endpointId }).update({ disabled_at: at, disabled_reason: reason, updated_at: at });
    await deliveries.failOpenDeliveries(trx, tenantId, endpointId, 'endpoint disabled');
    await recordAudit(trx, systemActor(tenantId, 'webhooks'), { action: 'webhook.disable', targetType: 'webhook_endpoint', targetId: endpointId, result: 'failure', details: { url: row.url, reason } });
    const owners = await trx('admins').where({ tenant_id: tenantId, role: 'owner' }).whereNull('disabled_at').select('email');
    const dispatch: Array<() => Promise<void>> = [];
    for (const { email } of owners) {
      const { dispatch: send } = await messages.prepare(trx, tenantId, {
        recipient: email,
        subject: 'Webhook endpoint disabled',
        bodyText: `Your webhook endpoint ${row.url} was disabled: ${reason}.\nEvents are no longer sent to it. Fix the receiver, then enable it again in Settings → Webhooks (failed deliveries can be redelivered there).`,
      });
      dispatch.push(send);
    }
    return { disabled: true, dispatch };
  }

  async function record(delivery: deliveries.Delivery, result: SendResult): Promise<DeliveryResult> {
    let outcome: DeliveryResult;
    const dispatch = await db.transaction(async (trx) => {
      if (result.ok) {
        await deliveries.markDelivered(trx, delivery.id, result.statusCode!);
        await trx('webhook_endpoints').where({ tenant_id: delivery.tenantId, id: delivery.endpointId }).whereNotNull('failing_since').update({ failing_since: null });
        outcome = 'delivered';
        return [];
      }
      const retryInMs = config.retryScheduleMs[delivery.attempts - 1];
      await deliveries.markFailed(trx, delivery.id, { statusCode: result.statusCode, error: result.error ?? 'failed' }, retryInMs);
      const { disabled, dispatch } = await noteFailure(trx, delivery.tenantId, delivery.endpointId);
      // An endpoint disabled by this failure ends its deliveries, this one included: no retry follows.
      outcome = retryInMs === undefined || disabled ? 'dead' : 'failed';
      return dispatch;
    });
    for (const send of dispatch) await send();
    return outcome!;
  }

  return {
    /** Makes the attempt a job asks for; a delivery not due (claimed elsewhere, finished) is left alone. Returns what happened. */
    async deliver(deliveryId: string): Promise<DeliveryResult | 'skipped'> {
      const delivery = await deliveries.claimAttempt(db, deliveryId, leaseMs);
      if (!delivery) return 'skipped';
      const [endpoint, event] = await Promise.all([
        findSecrets(db, delivery.tenantId, delivery.endpointId),
        db('audit_events').where({ tenant_id: delivery.tenantId, id: delivery.eventId }).first(),
      ]);
      if (!endpoint || endpoint.disabledAt) {
        await deliveries.markFailed(db, delivery.id, { error: 'endpoint disabled' }, undefined);
        return 'skipped';
      }
      if (!event) {
        await deliveries.markFailed(db, delivery.id, { error: 'event no longer exists' }, undefined);
        return 'skipped';
      }
      const body = eventPayload(event);
      const timestamp = Math.floor(Date.now() / 1000);
      const keys = [secrets.decrypt(endpoint.secretSealed, sealContext(endpoint.id)).toString()];
      if (endpoint.previousSecretSealed && endpoint.previousSecretExpiresAt && new Date(endpoint.previousSecretExpiresAt).getTime() > Date.now()) {
        keys.push(secrets.decrypt(endpoint.previousSecretSealed, sealContext(endpoint.id)).toString());
      }
      const headers = { 'webhook-id': delivery.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatureHeader(keys, delivery.id, timestamp, body) };
      const result = await sendWebhook(endpoint.url, headers, body, { allowPrivate: config.allowPrivate, timeoutMs: config.timeoutMs });
      if (!result.ok) log.info({ deliveryId, endpointId: endpoint.id, attempt: delivery.attempts, status: result.statusCode, err: result.error }, 'webhook attempt failed');
      const outcome = await record(delivery, result);
      options.onDeliveryResult?.(outcome);
      return outcome;
    },

    /** Deliveries due now (new, retry time reached, lease expired): the dispatcher enqueues them. */
    async due(limit = 500): Promise<Array<{ id: string; attempts: number }>> {
      return deliveries.listDue(db, limit);
    },
  };
}
