/** API: resources CRUD and their user assignments. Thin: the services validate, scope and audit. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { jsonObject, listQuery, param } from './input';
import { serializePage, serializeResource, serializeUser } from './serializers';
import { ValidationError } from '../lib/errors';
import { ENROLLMENT_STATUSES, isEnrollmentStatus, type EnrollmentStatus } from '../invitations/enrollment-status.repository';

/** `?status=` of a members list: absent, or one of the enrolment states (anything else is a 422). */
function statusQuery(req: Request): EnrollmentStatus | undefined {
  const value = req.query.status;
  if (value === undefined || value === '') return undefined;
  if (isEnrollmentStatus(value)) return value;
  throw new ValidationError({ status: `Use one of: ${ENROLLMENT_STATUSES.join(', ')}.` });
}

export function createApiResourcesController({ resources, users, enrollmentProgress }: Services) {
  return {
    async list(req: Request, res: Response) {
      const { q, page } = listQuery(req);
      const result = await resources.list(req.actor!, q, page);
      res.json(serializePage(result, serializeResource));
    },

    async create(req: Request, res: Response) {
      const resource = await resources.create(req.actor!, jsonObject(req));
      res.status(201).location(`${req.baseUrl}/resources/${resource.id}`).json(serializeResource(resource));
    },

    async show(req: Request, res: Response) {
      res.json(serializeResource(await resources.get(req.actor!, param(req, 'id'))));
    },

    async update(req: Request, res: Response) {
      res.json(serializeResource(await resources.update(req.actor!, param(req, 'id'), jsonObject(req))));
    },

    async remove(req: Request, res: Response) {
      await resources.remove(req.actor!, param(req, 'id'));
      res.status(204).end();
    },

    async listUsers(req: Request, res: Response) {
      // Resolve the resource first so an unknown or foreign id is a 404, not an empty list.
      const resource = await resources.get(req.actor!, param(req, 'id'));
      const result = await users.usersOfResource(req.actor!, resource.id, listQuery(req).page, statusQuery(req));
      res.json(serializePage(result, serializeUser));
    },

    /** {assigned, enrolled, invited, notInvited}; another tenant's resource is a 404. */
    async enrollment(req: Request, res: Response) {
      res.json(await enrollmentProgress.counts(req.actor!, param(req, 'id')));
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
