/** API: resources CRUD and their user assignments. Thin: the services validate, scope and audit. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { jsonObject, listQuery, param } from './input';
import { serializePage, serializeResource, serializeUser } from './serializers';

export function createApiResourcesController({ resources, users }: Services) {
  return {
    async list(req: Request, res: Response) {
      const { q, page } = listQuery(req);
      const result = await resources.list(req.actor!.tenantId, q, page);
      res.json(serializePage(result, serializeResource));
    },

    async create(req: Request, res: Response) {
      const resource = await resources.create(req.actor!, jsonObject(req));
      res.status(201).location(`${req.baseUrl}/resources/${resource.id}`).json(serializeResource(resource));
    },

    async show(req: Request, res: Response) {
      res.json(serializeResource(await resources.get(req.actor!.tenantId, param(req, 'id'))));
    },

    async update(req: Request, res: Response) {
      res.json(serializeResource(await resources.update(req.actor!, param(req, 'id'), jsonObject(req))));
    },

    async remove(req: Request, res: Response) {
      await resources.remove(req.actor!, param(req, 'id'));
      res.status(204).end();
    },

    async listUsers(req: Request, res: Response) {
      const tenantId = req.actor!.tenantId;
      // Resolve the resource first so an unknown or foreign id is a 404, not an empty list.
      const resource = await resources.get(tenantId, param(req, 'id'));
      const result = await users.usersOfResource(tenantId, resource.id, listQuery(req).page);
      res.json(serializePage(result, serializeUser));
    },

    /** Idempotent: assigning twice answers 204 both times. */
    async assignUser(req: Request, res: Response) {
      await users.assign(req.actor!, param(req, 'id'), param(req, 'userId'));
      res.status(204).end();
    },

    async unassignUser(req: Request, res: Response) {
      await users.unassign(req.actor!, param(req, 'id'), param(req, 'userId'));
      res.status(204).end();
    },
  };
}
