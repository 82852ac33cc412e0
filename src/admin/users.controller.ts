/** Console: users list (search, paging), create, user page (edit, block, resources), delete. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import type { Scope } from '../admins/resource-scope';
import type { Actor } from '../audit/actor';
import { ValidationError, ConflictError } from '../lib/errors';
import { pageRequest } from '../lib/pagination';
import type { User, UserResourceAssignment } from '../users/user.types';
import { flash, redirect, render } from '../web/views';
import { formBoolean, formList, formText } from './form';

/** The profile fields both forms share; emails and phones are trimmed because people paste them. */
function profileFromForm(body: Record<string, unknown>) {
  return {
    login: formText(body.login) ?? '',
    email: formText(body.email)?.trim() ?? '',
    phone: formText(body.phone)?.trim() ?? '',
    firstName: formText(body.firstName) ?? '',
    lastName: formText(body.lastName) ?? '',
  };
}

/** The edit form: a blank password keeps the current one; "Remove password" clears it (null). */
function patchFromForm(body: Record<string, unknown>) {
  const password = formText(body.password) ?? '';
  const patch: Record<string, unknown> = profileFromForm(body);
  if (formBoolean(body.removePassword)) patch.password = null;
  else if (password !== '') patch.password = password;
  return patch;
}

function formErrors(err: unknown): { errors: Record<string, string>; error: string } | undefined {
  if (err instanceof ValidationError || err instanceof ConflictError) return { errors: err.fields, error: err.message };
  return undefined;
}

/** SPEC §5.2: without a password and an email, a user has no way through the portal's first step. */
export function cannotSignIn(user: Pick<User, 'hasPassword' | 'email'>): boolean {
  return !user.hasPassword && !user.email;
}

/** pg turns `infinity` (locked until an admin unlocks) into the number Infinity, not a Date. */
function lockState(lockedUntil: Date | number | null, now: number): { locked: boolean; until: Date | null } {
  if (lockedUntil === null) return { locked: false, until: null };
  if (typeof lockedUntil === 'number') return { locked: lockedUntil > now, until: null };
  return { locked: lockedUntil.getTime() > now, until: lockedUntil };
}

export function createUsersController({ users, resources, tokens }: Services) {
  /** Everything the user page shows besides the form: assignments with lock state and the resources still assignable. */
  async function pageData(scope: Scope, user: User) {
    const [assignments, all, userTokens] = await Promise.all([
      users.assignmentsOf(scope, user.id),
      resources.options(scope),
      tokens.tokensOfUser(scope, user.id),
    ]);
    const now = Date.now();
    const assigned = new Set(assignments.map((a) => a.resourceId));
    return {
      user,
      cannotSignIn: cannotSignIn(user),
      assignments: assignments.map((a: UserResourceAssignment) => ({ ...a, lock: lockState(a.lockedUntil as Date | number | null, now) })),
      assignable: all.filter((r) => !assigned.has(r.id)),
      hasResources: all.length > 0,
      tokens: userTokens,
    };
  }

  async function renderShow(req: Request, res: Response, user: User, extra: Record<string, unknown> = {}, status = 200) {
    const data = await pageData(req.actor!, user);
    render(req, res, { page: 'admin/users/show' }, { ...data, values: user, errors: {}, ...extra }, status);
  }

  /** A change to the user's membership of a resource, then back to the user page with a message. */
  function membershipAction(change: (actor: Actor, resourceId: string, userId: string) => Promise<void>, done: string) {
    return async (req: Request, res: Response) => {
      const user = await users.get(req.actor!, req.params.id as string);
      const resource = await resources.get(req.actor!, req.params.resourceId as string);
      await change(req.actor!, resource.id, user.id);
      flash(req, 'success', `${user.login} ${done} ${resource.name}.`);
      redirect(req, res, `/admin/users/${user.id}`);
    };
  }

  return {
    async list(req: Request, res: Response) {
      const q = String(req.query.q ?? '');
      const page = await users.list(req.actor!, q, pageRequest(req.query));
      render(req, res, { page: 'admin/users/index', partial: 'admin/users/_table' }, { page, q, perPage: req.query.perPage ? page.perPage : undefined });
    },

    async newForm(req: Request, res: Response) {
      render(req, res, { page: 'admin/users/new' }, { values: {}, errors: {}, resources: await resources.options(req.actor!) });
    },

    async create(req: Request, res: Response) {
      const values = { ...profileFromForm(req.body), password: formText(req.body.password) ?? '' };
      const resourceIds = formList(req.body.resourceIds);
      try {
        const user = await users.create(req.actor!, values, { resourceIds });
        flash(req, 'success', `User "${user.login}" created.`);
        redirect(req, res, `/admin/users/${user.id}`);
      } catch (err) {
        const form = formErrors(err);
        if (!form) throw err;
        // The password is never echoed back into the page.
        render(req, res, { page: 'admin/users/new', partial: 'admin/users/_form' }, { values: { ...values, password: '', resourceIds }, resources: await resources.options(req.actor!), ...form }, 422);
      }
    },

    async show(req: Request, res: Response) {
      const user = await users.get(req.actor!, req.params.id as string);
      await renderShow(req, res, user);
    },

    async update(req: Request, res: Response) {
      const user = await users.get(req.actor!, req.params.id as string);
      const patch = patchFromForm(req.body);
      try {
        await users.update(req.actor!, user.id, patch);
        flash(req, 'success', 'Changes saved.');
        redirect(req, res, `/admin/users/${user.id}`);
      } catch (err) {
        const form = formErrors(err);
        if (!form) throw err;
        await renderShow(req, res, user, { values: { ...user, ...profileFromForm(req.body) }, ...form }, 422);
      }
    },

    async block(req: Request, res: Response) {
      const user = await users.block(req.actor!, req.params.id as string);
      flash(req, 'success', `${user.login} is blocked and can no longer sign in.`);
      redirect(req, res, `/admin/users/${user.id}`);
    },

    async unblock(req: Request, res: Response) {
      const user = await users.unblock(req.actor!, req.params.id as string);
      flash(req, 'success', `${user.login} is unblocked.`);
      redirect(req, res, `/admin/users/${user.id}`);
    },

    async assignResource(req: Request, res: Response) {
      const user = await users.get(req.actor!, req.params.id as string);
      const resourceId = String(req.body.resourceId ?? '').trim();
      if (!resourceId) {
        await renderShow(req, res, user, { assignErrors: { resourceId: 'Choose a resource.' } }, 422);
        return;
      }
      const resource = await resources.get(req.actor!, resourceId);
      await users.assign(req.actor!, resource.id, user.id);
      flash(req, 'success', `${user.login} is assigned to ${resource.name}.`);
      redirect(req, res, `/admin/users/${user.id}`);
    },

    unassignResource: membershipAction(users.unassign, 'is unassigned from'),

    /** Clears the user's failed attempts and lock in one resource (SPEC §3 Lockout). */
    unlock: membershipAction(users.unlock, 'is unlocked in'),

    async deleteConfirm(req: Request, res: Response) {
      const user = await users.get(req.actor!, req.params.id as string);
      render(req, res, { page: 'admin/users/delete' }, { user });
    },

    async remove(req: Request, res: Response) {
      const user = await users.get(req.actor!, req.params.id as string);
      await users.remove(req.actor!, user.id);
      flash(req, 'success', `User "${user.login}" deleted.`);
      redirect(req, res, '/admin/users');
    },
  };
}
