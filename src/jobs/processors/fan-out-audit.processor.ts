/**
 * audit queue, job `audit.fan_out`: fans out the audit events waiting (webhook deliveries and
 * alert emails, audit/audit-fan-out.ts). Safe to run twice or concurrently: events are marked in
 * the transaction that fans them out, and concurrent runs take disjoint batches.
 */
import type { Processor } from '../queue';
import type { AuditDispatch } from '../audit-dispatch';

export function createFanOutAuditProcessor(dispatch: AuditDispatch): Processor<'fanOutAudit'> {
  return async () => {
    await dispatch.fanOut();
  };
}
