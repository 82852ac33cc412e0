/**
 * Fan-out of audit events (issue 13 §1, §2; SPEC "audit" queue). Writers only insert audit rows
 * in their own transactions (often in bulk statements); this reads the rows with `fanned_out_at`
 * NULL (a partial index), and in one transaction per batch creates the webhook deliveries of the
 * matching endpoints and the alert emails, and marks the events. A run killed before its commit
 * leaves the events unmarked for the next run; a run repeated creates nothing twice (one delivery
 * per endpoint and event, alert emails only with the mark). Concurrent runs take disjoint batches
 * (SKIP LOCKED).
 */
import type { Db } from '../db/knex';
import type { MessageService } from '../outbox/message.service';
import { prepareAlertEmails } from '../alerts/alert-emails';
import type { AlertEvent } from '../alerts/alert-kinds';
import { enabledEndpointsOf } from '../webhooks/webhook.repository';
import { insertDeliveries, type NewDelivery } from '../webhooks/delivery.repository';
import { matchesFilter } from '../webhooks/event-types';

export const FAN_OUT_BATCH = 500;

export interface FanOutResult {
  events: number;
  deliveryIds: string[];
}

export type AuditFanOut = ReturnType<typeof createAuditFanOut>;

export function createAuditFanOut(db: Db, messages: MessageService, options: { now?: () => Date } = {}) {
  const now = options.now ?? (() => new Date());

  /** One batch; returns what it did (0 events: nothing left). Enqueue the deliveries returned (after commit). */
  async function batch(): Promise<FanOutResult & { dispatch: Array<() => Promise<void>> }> {
    return db.transaction(async (trx) => {
      const events: AlertEvent[] = await trx('audit_events')
        .whereNull('fanned_out_at')
        .orderBy('id')
        .limit(FAN_OUT_BATCH)
        .forUpdate()
        .skipLocked()
        .select('id', 'tenant_id', 'action', 'target_id', 'resource_id', 'details', 'actor_label', 'created_at');
      if (events.length === 0) return { events: 0, deliveryIds: [], dispatch: [] };
      const endpoints = await enabledEndpointsOf(trx, [...new Set(events.map((e) => e.tenant_id))]);
      const rows: NewDelivery[] = [];
      for (const e of events) {
        for (const ep of endpoints) {
          if (ep.tenantId === e.tenant_id && matchesFilter(ep.events, e.action)) rows.push({ tenantId: e.tenant_id, endpointId: ep.id, eventId: e.id, eventType: e.action });
        }
      }
      const deliveryIds: string[] = [];
      for (let i = 0; i < rows.length; i += 1000) deliveryIds.push(...(await insertDeliveries(trx, rows.slice(i, i + 1000))));
      const dispatch = await prepareAlertEmails(trx, messages, events, now());
      await trx('audit_events').whereIn('id', events.map((e) => e.id)).update({ fanned_out_at: trx.fn.now() });
      return { events: events.length, deliveryIds, dispatch };
    });
  }

  return {
    /**
     * Fans out one batch (up to FAN_OUT_BATCH events, oldest first) and, after its commit, sends
     * its alert emails and hands its new delivery ids to `onDeliveries` (to enqueue their first
     * attempt at once). One batch per call keeps a job short, so shutdown never waits on a backlog;
     * the caller chains the next call when the batch was full.
     */
    async runBatch(onDeliveries: (ids: string[]) => Promise<void>): Promise<FanOutResult> {
      const done = await batch();
      if (done.events === 0) return { events: 0, deliveryIds: [] };
      for (const send of done.dispatch) await send();
      await onDeliveries(done.deliveryIds);
      return { events: done.events, deliveryIds: done.deliveryIds };
    },

    /** Every waiting event, batch after batch (tests and tools; jobs use runBatch). */
    async run(onDeliveries: (ids: string[]) => Promise<void>): Promise<FanOutResult> {
      const total: FanOutResult = { events: 0, deliveryIds: [] };
      for (;;) {
        const done = await this.runBatch(onDeliveries);
        total.events += done.events;
        total.deliveryIds.push(...done.deliveryIds);
        if (done.events < FAN_OUT_BATCH) return total;
      }
    },

    /** The oldest event not fanned out yet, if any (the dispatcher's cheap check, on the partial index). */
    async oldestPending(): Promise<number | undefined> {
      const row = await db('audit_events').whereNull('fanned_out_at').orderBy('id').first('id');
      return row?.id;
    },
  };
}
