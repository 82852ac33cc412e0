/**
 * API: tokens (create, list, show, change, PIN, resync, drift, admin verify, delete) and their
 * assignment to resources. Thin: the token service validates, scopes to the key's tenant, audits.
 */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { parseInput } from '../lib/validation';
import { tokenListFilterSchema, tokenResyncSchema, tokenVerifySchema } from '../tokens/token.types';
import { jsonObject, listQuery, param } from './input';
import { serializePage } from './serializers';
import { serializeCreatedToken, serializeToken } from './token-serializers';

/** Single query-string values only; a blank one means "any". */
function filterQuery(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['type', 'status', 'userId']) {
    const value = req.query[key];
    if (value === undefined || value === '') continue;
    out[key] = value as string; // an array (repeated key) fails the schema with a clear message
  }
  return out;
}

export function createApiTokensController({ tokens }: Services) {
  return {
    async list(req: Request, res: Response) {
      const { q, page } = listQuery(req);
      const filter = parseInput(tokenListFilterSchema, { ...filterQuery(req), q: q.trim() || undefined });
      const result = await tokens.list(req.actor!, filter, page);
      res.json(serializePage(result, serializeToken));
    },

    /** 201 with the otpauth URI (generated seeds) or the backup codes: the only time they are shown. */
    async create(req: Request, res: Response) {
      const created = await tokens.create(req.actor!, jsonObject(req));
      res.status(201).location(`${req.baseUrl}/tokens/${created.token.id}`).json(serializeCreatedToken(created));
    },

    async show(req: Request, res: Response) {
      res.json(serializeToken(await tokens.get(req.actor!, param(req, 'id'))));
    },

    async update(req: Request, res: Response) {
      res.json(serializeToken(await tokens.update(req.actor!, param(req, 'id'), jsonObject(req))));
    },

    async remove(req: Request, res: Response) {
      await tokens.remove(req.actor!, param(req, 'id'));
      res.status(204).end();
    },

    async setPin(req: Request, res: Response) {
      res.json(serializeToken(await tokens.setPin(req.actor!, param(req, 'id'), jsonObject(req))));
    },

    async clearPin(req: Request, res: Response) {
      res.json(serializeToken(await tokens.clearPin(req.actor!, param(req, 'id'))));
    },

    async resync(req: Request, res: Response) {
      const { otp1, otp2 } = parseInput(tokenResyncSchema, jsonObject(req));
      res.json(serializeToken(await tokens.resync(req.actor!, param(req, 'id'), otp1, otp2)));
    },

    async resetDrift(req: Request, res: Response) {
      res.json(serializeToken(await tokens.resetDrift(req.actor!, param(req, 'id'))));
    },

    /** 200 {result} for every check; a valid code is consumed, as it would be by a sign-in. */
    async verify(req: Request, res: Response) {
      const { otp } = parseInput(tokenVerifySchema, jsonObject(req));
      res.json({ result: await tokens.verify(req.actor!, param(req, 'id'), otp) });
    },

    async resources(req: Request, res: Response) {
      // Resolve the token first so an unknown or foreign id is a 404, not an empty list.
      const token = await tokens.get(req.actor!, param(req, 'id'));
      res.json({ items: await tokens.resourcesOf(req.actor!, token.id) });
    },

    /** Idempotent; 422 when the owner is not assigned to the resource, 409 at the token limit. */
    async assign(req: Request, res: Response) {
      await tokens.assignToResource(req.actor!, param(req, 'id'), param(req, 'tokenId'));
      res.status(204).end();
    },

    async unassign(req: Request, res: Response) {
      await tokens.unassignFromResource(req.actor!, param(req, 'id'), param(req, 'tokenId'));
      res.status(204).end();
    },
  };
}
