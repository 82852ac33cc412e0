/**
 * API: the validation endpoint (SPEC §3) and the unlock of a user locked in a resource. Every
 * processed check answers 200 with {"result": true|false}; only a malformed request, an unknown
 * resource or a bad key gets a 4xx. All rules, audit and lock handling live in the services.
 */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { jsonObject, param } from './input';

export function createApiAuthenticateController({ validation, users, metrics }: Services) {
  return {
    async authenticate(req: Request, res: Response) {
      const outcome = await validation.authenticate(req.actor!, param(req, 'id'), jsonObject(req));
      // Build the body from known fields only, so every refusal is byte-identical (SEC-22).
      metrics.authentications.inc({ result: outcome.challenge ? 'challenge' : outcome.result ? 'success' : 'failure' });
      if (outcome.challenge) return void res.json({ result: false, challenge: { types: outcome.challenge.types } });
      res.json(outcome.result && outcome.token ? { result: true, token: { serial: outcome.token.serial, type: outcome.token.type } } : { result: outcome.result });
    },

    async unlock(req: Request, res: Response) {
      await users.unlock(req.actor!, param(req, 'id'), param(req, 'userId'));
      res.status(204).end();
    },
  };
}
