/**
 * Notifications to a portal user (SPEC §5.3: enrolments, contact changes, ...) through the
 * `email` queue. The message row is written in the caller's transaction; call the returned
 * dispatch after commit. Users without an email address get nothing (nothing to send to).
 */
import type { Queryable } from '../db/knex';
import type { MessageService } from '../outbox/message.service';

export interface Notice {
  subject: string;
  /** Paragraphs of the body; a closing line about unexpected changes is added. */
  lines: string[];
}

export async function prepareNotice(q: Queryable, messages: MessageService, tenantId: string, email: string | null, notice: Notice): Promise<() => Promise<void>> {
  if (!email) return async () => undefined;
  const { dispatch } = await messages.prepare(q, tenantId, {
    channel: 'email',
    recipient: email,
    subject: notice.subject,
    bodyText: [...notice.lines, '', 'If this was not you, contact your administrator at once.'].join('\n'),
  });
  return dispatch;
}
