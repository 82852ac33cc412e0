/** API: email/SMS codes on demand. Thin: the service validates, resolves, throttles and audits. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { jsonObject, param } from './input';

export function createApiChallengesController({ challenges }: Services) {
  return {
    /** 200 `{status: "sent"}` for every processed request, whoever the login names (SEC-22). */
    async request(req: Request, res: Response) {
      res.json(await challenges.request(req.actor!, param(req, 'id'), jsonObject(req)));
    },
  };
}
