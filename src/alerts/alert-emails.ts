/**
 * Turns audit events into alert emails for the admins subscribed to their kind (issue 13 §2).
 * Runs inside the fan-out transaction: the messages exist exactly when the events are marked
 * fanned out, so a fan-out run twice (a worker killed before commit) sends once.
 */
import type { Queryable } from '../db/knex';
import type { MessageService } from '../outbox/message.service';
import { alertKindOf, type AlertEvent, type AlertKind } from './alert-kinds';
import * as repo from './alert.repository';

/** One lockout email per user and resource per hour, however many refused attempts follow. */
export const LOCKOUT_ALERT_WINDOW_MINUTES = 60;

interface Names {
  users: Map<string, string>;
  resources: Map<string, string>;
  admins: Map<string, string>;
}

function describe(kind: AlertKind, e: AlertEvent, names: Names): { subject: string; body: string } {
  const d = e.details ?? {};
  const user = (e.target_id && names.users.get(e.target_id)) ?? (typeof d.login === 'string' ? d.login : e.target_id ?? 'a user');
  const resource = (e.resource_id && names.resources.get(e.resource_id)) ?? 'a resource';
  const when = e.created_at.toISOString();
  switch (kind) {
    case 'user_locked':
      return { subject: `User ${user} is locked out of ${resource}`, body: `User ${user} is locked out of ${resource} after too many failed attempts (${when}).\nAn admin can unlock them on the resource's Users tab. Further lockouts of this user in this resource within the hour are not emailed.` };
    case 'admin_locked':
    {
      const admin = (e.target_id && names.admins.get(e.target_id)) ?? e.target_id ?? 'unknown';
      return { subject: `Admin account ${admin} is locked`, body: `The admin account ${admin} was locked at ${when} (${String(d.reason ?? 'too many failed sign-in attempts')}).\nAn owner can unlock it on the Admins page.` };
    }
    case 'import_finished': {
      const what = e.action.startsWith('user.') ? 'User import' : 'Token import';
      if (e.action.endsWith('.failed')) return { subject: `${what} failed`, body: `${what} ${e.target_id} failed at ${when}: ${String(d.error ?? 'see the import page')}.` };
      const counts = Object.entries(d).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k}: ${v}`).join(', ');
      return { subject: `${what} finished`, body: `${what} ${e.target_id} finished at ${when}${counts ? ` (${counts})` : ''}.` };
    }
    case 'webhook_disabled':
      return { subject: 'A webhook endpoint was disabled', body: `Webhook endpoint ${String(d.url ?? e.target_id)} was disabled at ${when}: ${String(d.reason ?? 'every delivery failed for 5 days')}.\nFix the receiver, then enable it again in Settings → Webhooks.` };
    case 'api_key_changed':
      return e.action === 'api_key.create'
        ? { subject: `API key "${String(d.name ?? '')}" was created`, body: `API key "${String(d.name ?? '')}" (${String(d.prefix ?? '')}…) was created by ${e.actor_label ?? 'an owner'} at ${when}.` }
        : { subject: 'An API key was revoked', body: `API key ${e.target_id} was revoked by ${e.actor_label ?? 'an owner'} at ${when}.` };
  }
}

async function lookupNames(q: Queryable, events: AlertEvent[]): Promise<Names> {
  const userKeys = events.filter((e) => e.target_id && /^[0-9a-f-]{36}$/i.test(e.target_id)).map((e) => [e.tenant_id, e.target_id!] as const);
  const resourceKeys = events.filter((e) => e.resource_id).map((e) => [e.tenant_id, e.resource_id!] as const);
  const adminKeys = events.filter((e) => e.action === 'admin.lock' && e.target_id).map((e) => [e.tenant_id, e.target_id!] as const);
  const [users, resources, admins] = await Promise.all([
    userKeys.length ? q('users').whereIn(['tenant_id', 'id'], userKeys as unknown as string[][]).select('id', 'login') : [],
    resourceKeys.length ? q('resources').whereIn(['tenant_id', 'id'], resourceKeys as unknown as string[][]).select('id', 'name') : [],
    adminKeys.length ? q('admins').whereIn(['tenant_id', 'id'], adminKeys as unknown as string[][]).select('id', 'email') : [],
  ]);
  return {
    users: new Map(users.map((u: { id: string; login: string }) => [u.id, u.login])),
    resources: new Map(resources.map((r: { id: string; name: string }) => [r.id, r.name])),
    admins: new Map(admins.map((a: { id: string; email: string }) => [a.id, a.email])),
  };
}

/** Stores the alert emails these events owe; returns the functions that enqueue them after commit. */
export async function prepareAlertEmails(q: Queryable, messages: MessageService, events: AlertEvent[], now: Date): Promise<Array<() => Promise<void>>> {
  const alerting = events.map((e) => ({ e, kind: alertKindOf(e) })).filter((x): x is { e: AlertEvent; kind: AlertKind } => x.kind !== undefined);
  if (alerting.length === 0) return [];
  const subs = await repo.recipients(q, [...new Set(alerting.map((x) => x.e.tenant_id))], [...new Set(alerting.map((x) => x.kind))]);
  if (subs.length === 0) return [];
  const names = await lookupNames(q, alerting.map((x) => x.e));
  const dispatch: Array<() => Promise<void>> = [];
  for (const { e, kind } of alerting) {
    const to = subs.filter((s) => s.tenantId === e.tenant_id && s.kind === kind);
    if (to.length === 0) continue;
    if (kind === 'user_locked' && !(await repo.takeThrottle(q, e.tenant_id, `user_locked:${e.target_id}:${e.resource_id}`, LOCKOUT_ALERT_WINDOW_MINUTES, now))) continue;
    const { subject, body } = describe(kind, e, names);
    for (const { email } of to) {
      const prepared = await messages.prepare(q, e.tenant_id, { recipient: email, subject: `[MFA alert] ${subject}`, bodyText: `${body}\n\nYou receive this because you chose this alert under Settings → Alerts in the console.` });
      dispatch.push(prepared.dispatch);
    }
  }
  return dispatch;
}
