/** API: a resource's Self-Service configuration. The service validates, scopes and audits. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { jsonObject, param } from './input';
import { serializeSelfService } from './self-service-serializers';

export function createApiSelfServiceController({ selfService }: Services) {
  return {
    async show(req: Request, res: Response) {
      res.json(serializeSelfService(await selfService.get(req.actor!, param(req, 'id')), selfService.urls));
    },

    async update(req: Request, res: Response) {
      res.json(serializeSelfService(await selfService.update(req.actor!, param(req, 'id'), jsonObject(req)), selfService.urls));
    },
  };
}
