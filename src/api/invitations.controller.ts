/** API: enrolment invitations of a resource (issue 12 §3). Thin: the service checks, scopes and audits. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import type { InvitationListItem } from '../invitations/invitation.repository';
import { jsonObject, listQuery, param } from './input';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function serializeInvitation(i: InvitationListItem) {
  return {
    userId: i.userId,
    login: i.login,
    email: i.email,
    status: i.status,
    createdAt: i.createdAt.toISOString(),
    lastSentAt: i.lastSentAt.toISOString(),
    expiresAt: i.expiresAt.toISOString(),
    remindersSent: i.remindersSent,
    nextReminderAt: iso(i.nextReminderAt),
    cancelledAt: iso(i.cancelledAt),
  };
}

export function createApiInvitationsController({ invitations }: Services) {
  return {
    async create(req: Request, res: Response) {
      res.status(202).json(await invitations.invite(req.actor!, param(req, 'id'), jsonObject(req)));
    },

    async list(req: Request, res: Response) {
      const result = await invitations.list(req.actor!, param(req, 'id'), listQuery(req).page);
      res.json({ items: result.items.map(serializeInvitation), page: result.page, perPage: result.perPage, total: result.total });
    },

    async resend(req: Request, res: Response) {
      await invitations.resend(req.actor!, param(req, 'id'), param(req, 'userId'));
      res.status(202).json({ status: 'sent' });
    },

    async cancel(req: Request, res: Response) {
      await invitations.cancel(req.actor!, param(req, 'id'), param(req, 'userId'));
      res.status(204).end();
    },
  };
}
