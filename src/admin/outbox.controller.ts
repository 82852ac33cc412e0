/** Console: the tenant's outgoing messages (captured here when no SMTP server is configured). */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { pageRequest } from '../lib/pagination';
import { render } from '../web/views';

export function createOutboxController({ messages, config }: Services) {
  return {
    async list(req: Request, res: Response) {
      const page = await messages.list(req.actor!, pageRequest(req.query));
      render(req, res, { page: 'admin/outbox/index', partial: 'admin/outbox/_table' }, { page, smtpConfigured: Boolean(config.smtpUrl) });
    },

    /**
     * One message. Bodies can hold invitation links and one-time codes, so only owners read them:
     * an invitation link read by an auditor would let them sign up as the invited (maybe owner) admin.
     */
    async show(req: Request, res: Response) {
      const message = await messages.get(req.actor!, req.params.id as string);
      res.set('Cache-Control', 'no-store');
      render(req, res, { page: 'admin/outbox/show' }, { message, canReadBody: req.admin!.role === 'owner' });
    },
  };
}
