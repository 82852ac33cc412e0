/** Console (owners only): API keys, shown once at creation, revocable. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { ValidationError } from '../lib/errors';
import { flash, redirect, render } from '../web/views';
import { formText } from './form';

const VIEWS = { page: 'admin/api-keys/index', partial: 'admin/api-keys/_panel' };

export function createApiKeysController({ apiKeys }: Services) {
  return {
    /**
     * Lists keys. A key created just before is in the session: it is shown on this one response and
     * removed from the session, and the page is never cached (it may hold the plain key).
     */
    async list(req: Request, res: Response) {
      const reveal = req.session.revealApiKey;
      delete req.session.revealApiKey;
      const keys = await apiKeys.list(req.actor!.tenantId);
      res.set('Cache-Control', 'no-store');
      render(req, res, VIEWS, { keys, reveal, values: {}, errors: {} });
    },

    async create(req: Request, res: Response) {
      const values = { name: formText(req.body.name) ?? '' };
      try {
        const { key, plain } = await apiKeys.create(req.actor!, values);
        req.session.revealApiKey = { name: key.name, plain };
        redirect(req, res, '/admin/api-keys');
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        const keys = await apiKeys.list(req.actor!.tenantId);
        render(req, res, VIEWS, { keys, values, errors: err.fields }, 422);
      }
    },

    async revokeConfirm(req: Request, res: Response) {
      const key = await apiKeys.get(req.actor!.tenantId, req.params.id as string);
      render(req, res, { page: 'admin/api-keys/revoke' }, { key });
    },

    async revoke(req: Request, res: Response) {
      const key = await apiKeys.get(req.actor!.tenantId, req.params.id as string);
      await apiKeys.revoke(req.actor!, key.id);
      flash(req, 'success', `API key "${key.name}" is revoked. Requests with it are refused from now on.`);
      redirect(req, res, '/admin/api-keys');
    },
  };
}
