/**
 * Console: one token's page (details, owner, resources, PIN, resync, drift, fail counter,
 * enable/disable) and its deletion. The seed never reaches this page: services hand out no seed.
 */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import type { Scope } from '../admins/resource-scope';
import { ConflictError, RateLimitedError, ValidationError } from '../lib/errors';
import { requireWriter } from '../admins/permissions';
import { oathParams, type Token } from '../tokens/token.types';
import { flash, redirect, render } from '../web/views';
import { formText } from './form';

const field = (body: Record<string, unknown>, name: string) => formText(body[name])?.trim() ?? '';

export function createTokenPageController({ tokens, users, resources }: Services) {
  /** The owner, the resources the token is in, and the owner's other resources (those it can join). */
  async function pageData(scope: Scope, token: Token) {
    const [owner, assigned] = await Promise.all([token.userId ? users.get(scope, token.userId) : undefined, tokens.resourcesOf(scope, token.id)]);
    const ownerResources = owner ? await users.assignmentsOf(scope, owner.id) : [];
    const inToken = new Set(assigned.map((r) => r.id));
    return { token, owner, assigned, ownerResources, assignable: ownerResources.filter((a) => !inToken.has(a.resourceId)), oath: oathParams(token) };
  }

  async function renderShow(req: Request, res: Response, token: Token, extra: Record<string, unknown> = {}, status = 200) {
    const data = await pageData(req.actor!, token);
    render(req, res, { page: 'admin/tokens/show' }, { ...data, values: {}, errors: {}, ...extra }, status);
  }

  /**
   * Runs one of the page's forms. Success: a flash and back to the page. A validation or conflict
   * error: the page again (422), the message on `fieldName` and what was typed kept in `values`.
   */
  async function submit(req: Request, res: Response, fieldName: string, run: (token: Token) => Promise<string>, values: Record<string, string> = {}) {
    requireWriter(req.actor!);
    const token = await tokens.get(req.actor!, req.params.id as string);
    try {
      flash(req, 'success', await run(token));
      redirect(req, res, `/admin/tokens/${token.id}`);
    } catch (err) {
      if (!(err instanceof ValidationError || err instanceof ConflictError || err instanceof RateLimitedError)) throw err;
      const message = ('fields' in err ? Object.values(err.fields)[0] : undefined) ?? err.message;
      await renderShow(req, res, token, { values, errors: { [fieldName]: message } }, 422);
    }
  }

  return {
    async show(req: Request, res: Response) {
      const token = await tokens.get(req.actor!, req.params.id as string);
      await renderShow(req, res, token);
    },

    rename: (req: Request, res: Response) => {
      const name = field(req.body, 'name');
      return submit(req, res, 'name', async (t) => {
        await tokens.update(req.actor!, t.id, { name });
        return name ? `Name saved: "${name}".` : 'Name removed.';
      }, { name });
    },

    enable: (req: Request, res: Response) => submit(req, res, '', async (t) => (await tokens.setEnabled(req.actor!, t.id, true), `${t.serial} is enabled.`)),
    disable: (req: Request, res: Response) => submit(req, res, '', async (t) => (await tokens.setEnabled(req.actor!, t.id, false), `${t.serial} is disabled: it is refused everywhere until enabled.`)),
    /** The PIN is never echoed back into the page. */
    setPin: (req: Request, res: Response) => submit(req, res, 'pin', async (t) => (await tokens.setPin(req.actor!, t.id, { pin: formText(req.body.pin) ?? '' }), 'PIN set.')),
    clearPin: (req: Request, res: Response) => submit(req, res, '', async (t) => (await tokens.clearPin(req.actor!, t.id), 'PIN removed.')),
    resetDrift: (req: Request, res: Response) => submit(req, res, '', async (t) => (await tokens.resetDrift(req.actor!, t.id), 'Drift reset to 0.')),
    resetFailures: (req: Request, res: Response) => submit(req, res, '', async (t) => (await tokens.resetFailures(req.actor!, t.id), 'Fail counter reset.')),

    resync: (req: Request, res: Response) => {
      const code1 = field(req.body, 'code1');
      const code2 = field(req.body, 'code2');
      return submit(req, res, 'code1', async (t) => (await tokens.resync(req.actor!, t.id, code1, code2), `${t.serial} is synchronised.`), { code1, code2 });
    },

    /** Gives the token to a user (by login). A new owner means the token leaves its resources (service rule). */
    setOwner: (req: Request, res: Response) => {
      const login = field(req.body, 'login');
      return submit(req, res, 'login', async (t) => {
        const user = login ? await users.findByLogin(req.actor!, login) : undefined;
        if (!user) throw new ValidationError({ login: login ? `No user has the login "${login}".` : 'Enter a login.' });
        if (user.id !== t.userId) await tokens.update(req.actor!, t.id, { userId: user.id });
        return `${t.serial} belongs to ${user.login}.`;
      }, { login });
    },

    removeOwner: (req: Request, res: Response) => submit(req, res, '', async (t) => (await tokens.update(req.actor!, t.id, { userId: null }), `${t.serial} has no owner now: it is back in stock.`)),

    assignResource: (req: Request, res: Response) => {
      const resourceId = field(req.body, 'resourceId');
      return submit(req, res, 'resourceId', async (t) => {
        if (!resourceId) throw new ValidationError({ resourceId: 'Choose a resource.' });
        // Said here in the console's words (the service's message speaks to API callers).
        if (!t.userId) throw new ValidationError({ resourceId: 'Give the token an owner first: it can only join resources of its owner.' });
        const resource = await resources.get(req.actor!, resourceId);
        await tokens.assignToResource(req.actor!, resource.id, t.id);
        return `${t.serial} is assigned to ${resource.name}.`;
      });
    },

    unassignResource: (req: Request, res: Response) => submit(req, res, '', async (t) => {
      const resource = await resources.get(req.actor!, req.params.resourceId as string);
      await tokens.unassignFromResource(req.actor!, resource.id, t.id);
      return `${t.serial} is unassigned from ${resource.name}.`;
    }),

    async deleteConfirm(req: Request, res: Response) {
      const token = await tokens.get(req.actor!, req.params.id as string);
      const owner = token.userId ? await users.get(req.actor!, token.userId) : undefined;
      render(req, res, { page: 'admin/tokens/delete' }, { token, owner });
    },

    async remove(req: Request, res: Response) {
      requireWriter(req.actor!);
      const token = await tokens.get(req.actor!, req.params.id as string);
      await tokens.remove(req.actor!, token.id);
      flash(req, 'success', `Token ${token.serial} deleted.`);
      redirect(req, res, '/admin/tokens');
    },
  };
}
