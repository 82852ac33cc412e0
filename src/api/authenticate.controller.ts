/**
 * API: the validation endpoint (SPEC §3) and the unlock of a user locked in a resource. Every
 * processed check answers 200 with {"result": true|false}; only a malformed request, an unknown
 * resource or a bad key gets a 4xx. All rules, audit and lock handling live in the services.
 */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import type { AuthenticateResult, BatchCheckResult } from '../validation/authenticate.service';
import { jsonObject, param } from './input';

export function createApiAuthenticateController({ validation, users, metrics }: Services) {
  // mfa_authentications_total, one per decision. The labelled children are resolved once: prom-client
  // hashes a label object on every inc(), a cost this hot path need not pay (see http-metrics.ts).
  const decisions = { success: metrics.authentications.labels('success'), failure: metrics.authentications.labels('failure'), challenge: metrics.authentications.labels('challenge') };
  function counted(outcome: AuthenticateResult): AuthenticateResult {
    decisions[outcome.challenge ? 'challenge' : outcome.result ? 'success' : 'failure'].inc();
    return outcome;
  }

  return {
    async authenticate(req: Request, res: Response) {
      res.json(answer(counted(await validation.authenticate(req.actor!, param(req, 'id'), jsonObject(req)))));
    },

    /** Up to 100 checks in one request, answered in order (the RADIUS connector's path). */
    async authenticateBatch(req: Request, res: Response) {
      const outcomes = await validation.authenticateMany(req.actor!, param(req, 'id'), jsonObject(req));
      res.json({ results: outcomes.map((o) => ('error' in o ? { result: false, error: o.error } : answer(counted(o)))) });
    },

    async unlock(req: Request, res: Response) {
      await users.unlock(req.actor!, param(req, 'id'), param(req, 'userId'));
      res.status(204).end();
    },
  };
}

/** The body of one decision, built from known fields only, so every refusal is byte-identical (SEC-22). */
function answer(outcome: AuthenticateResult): Exclude<BatchCheckResult, { error: string }> {
  if (outcome.challenge) return { result: false, challenge: { types: outcome.challenge.types } };
  return outcome.result && outcome.token ? { result: true, token: { serial: outcome.token.serial, type: outcome.token.type } } : { result: outcome.result };
}
