/** API: users CRUD, block/unblock and the resources a user is assigned to. Never returns a password or hash. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { jsonObject, listQuery, param } from './input';
import { serializeAssignment, serializePage, serializeUser } from './serializers';

export function createApiUsersController({ users }: Services) {
  return {
    async list(req: Request, res: Response) {
      const { q, page } = listQuery(req);
      const result = await users.list(req.actor!, q, page);
      res.json(serializePage(result, serializeUser));
    },

    async create(req: Request, res: Response) {
      const user = await users.create(req.actor!, jsonObject(req));
      res.status(201).location(`${req.baseUrl}/users/${user.id}`).json(serializeUser(user));
    },

    async show(req: Request, res: Response) {
      res.json(serializeUser(await users.get(req.actor!, param(req, 'id'))));
    },

    async update(req: Request, res: Response) {
      res.json(serializeUser(await users.update(req.actor!, param(req, 'id'), jsonObject(req))));
    },

    async remove(req: Request, res: Response) {
      await users.remove(req.actor!, param(req, 'id'));
      res.status(204).end();
    },

    async block(req: Request, res: Response) {
      res.json(serializeUser(await users.block(req.actor!, param(req, 'id'))));
    },

    async unblock(req: Request, res: Response) {
      res.json(serializeUser(await users.unblock(req.actor!, param(req, 'id'))));
    },

    async resources(req: Request, res: Response) {
      const assignments = await users.assignmentsOf(req.actor!, param(req, 'id'));
      const now = Date.now();
      res.json({ items: assignments.map((a) => serializeAssignment(a, now)) });
    },
  };
}
