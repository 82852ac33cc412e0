/** Console: resources list, create, tabbed resource page (settings, users), delete. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { ValidationError, ConflictError } from '../lib/errors';
import { pageRequest, type PageRequest } from '../lib/pagination';
import type { Scope } from '../admins/resource-scope';
import type { EnrollmentStatus } from '../invitations/enrollment-status.repository';
import { flash, redirect, render, wantsFragment } from '../web/views';
import { formBoolean, formNumber, formText } from './form';
import { enrollmentFilterData, enrollmentProgressData, statusFilter } from './enrollment.controller';

/** Converts the settings form's strings to the typed input the service validates. */
function settingsFromForm(body: Record<string, unknown>) {
  return {
    name: formText(body.name) ?? '',
    description: formText(body.description) ?? '',
    failedAttemptsLimit: formNumber(body.failedAttemptsLimit),
    lockMinutes: formNumber(body.lockMinutes),
    pinPosition: formText(body.pinPosition),
    maxTokensPerUser: formNumber(body.maxTokensPerUser),
    requireSecondFactor: formBoolean(body.requireSecondFactor),
    totpWindow: formNumber(body.totpWindow),
    trustedEnvironmentSkipsSecondFactor: formBoolean(body.trustedEnvironmentSkipsSecondFactor),
    notifyNewEnvironment: formBoolean(body.notifyNewEnvironment),
    invitationDays: formNumber(body.invitationDays),
    invitationReminderDays: formDayList(body.invitationReminderDays),
  };
}

/** "2, 10" → [2, 10]; blank → [] (reminders off); absent → unchanged. A non-number becomes NaN for the schema to name. */
function formDayList(value: unknown): number[] | undefined {
  if (typeof value !== 'string') return undefined;
  return value.split(/[\s,;]+/).filter(Boolean).map(Number);
}

function formErrors(err: unknown): { errors: Record<string, string>; error: string } | undefined {
  if (err instanceof ValidationError || err instanceof ConflictError) {
    // A list field's item errors ("invitationReminderDays.0") show on the list's own field.
    const errors = { ...err.fields };
    for (const [key, message] of Object.entries(err.fields)) if (key.includes('.')) errors[key.split('.')[0]] ??= message;
    return { errors, error: err.message };
  }
  return undefined;
}

export function createResourcesController(services: Services) {
  const { resources, users, invitations, enrollmentProgress } = services;

  /**
   * One page of members with their invitation and sign-in status (tokens, lock, last sign-in).
   * The enrolment progress panel is not part of it: it reads every member, so the tab loads it
   * as its own fragment (progress below) and the page costs the same at any resource size.
   */
  async function usersTabData(scope: Scope, resourceId: string, page: PageRequest, status: EnrollmentStatus | undefined) {
    const assigned = await users.usersOfResource(scope, resourceId, page, status);
    const ids = assigned.items.map((u) => u.id);
    const [invitationStates, signInStates] = await Promise.all([invitations.statesOf(scope, resourceId, ids), enrollmentProgress.signInStatusOf(scope, resourceId, ids)]);
    return { assigned, enrollment: enrollmentFilterData(status), invitationStates, signInStates };
  }

  return {
    async list(req: Request, res: Response) {
      const q = String(req.query.q ?? '');
      const page = await resources.list(req.actor!, q, pageRequest(req.query));
      render(req, res, { page: 'admin/resources/index', partial: 'admin/resources/_table' }, { page, q });
    },

    newForm(req: Request, res: Response) {
      render(req, res, { page: 'admin/resources/new' }, { values: {}, errors: {} });
    },

    async create(req: Request, res: Response) {
      const values = settingsFromForm(req.body);
      try {
        const resource = await resources.create(req.actor!, values);
        flash(req, 'success', `Resource "${resource.name}" created.`);
        redirect(req, res, `/admin/resources/${resource.id}`);
      } catch (err) {
        const form = formErrors(err);
        if (!form) throw err;
        render(req, res, { page: 'admin/resources/new', partial: 'admin/resources/_settings-form' }, { values, ...form }, 422);
      }
    },

    async settings(req: Request, res: Response) {
      const resource = await resources.get(req.actor!, req.params.id as string);
      render(req, res, { page: 'admin/resources/show', partial: 'admin/resources/_settings-tab' }, { resource, tab: 'settings', values: resource, errors: {} });
    },

    async update(req: Request, res: Response) {
      const resource = await resources.get(req.actor!, req.params.id as string);
      const values = settingsFromForm(req.body);
      try {
        const updated = await resources.update(req.actor!, resource.id, values);
        flash(req, 'success', 'Settings saved.');
        redirect(req, res, `/admin/resources/${updated.id}`);
      } catch (err) {
        const form = formErrors(err);
        if (!form) throw err;
        render(req, res, { page: 'admin/resources/show', partial: 'admin/resources/_settings-tab' }, { resource, tab: 'settings', values: { ...resource, ...values }, ...form }, 422);
      }
    },

    async usersTab(req: Request, res: Response) {
      const resource = await resources.get(req.actor!, req.params.id as string);
      const status = statusFilter(req.query.status);
      render(req, res, { page: 'admin/resources/show', partial: 'admin/resources/_users-tab' }, { resource, tab: 'users', ...(await usersTabData(req.actor!, resource.id, pageRequest(req.query), status)), login: '' });
    },

    /**
     * The Users tab's enrolment progress panel: the fragment the tab's placeholder loads (htmx),
     * or, without JavaScript (the placeholder's noscript link), the whole tab with the panel in it.
     */
    async progress(req: Request, res: Response) {
      const resource = await resources.get(req.actor!, req.params.id as string);
      const progress = await enrollmentProgressData(services, req.actor!, resource.id);
      if (wantsFragment(req)) {
        render(req, res, { page: 'admin/resources/_enrollment-progress' }, { resource, progress });
        return;
      }
      render(req, res, { page: 'admin/resources/show' }, { resource, tab: 'users', ...(await usersTabData(req.actor!, resource.id, pageRequest(req.query), undefined)), progress, login: '' });
    },

    /** Assigns by login (typed in the tab) or by user id (from the user page). */
    async assignUser(req: Request, res: Response) {
      const resource = await resources.get(req.actor!, req.params.id as string);
      const login = String(req.body.login ?? '').trim();
      const user = login ? await users.findByLogin(req.actor!, login) : undefined;
      if (!user) {
        render(req, res, { page: 'admin/resources/show', partial: 'admin/resources/_users-tab' }, { resource, tab: 'users', ...(await usersTabData(req.actor!, resource.id, pageRequest({}), undefined)), login, errors: { login: login ? `No user has the login "${login}".` : 'Enter a login.' } }, 422);
        return;
      }
      await users.assign(req.actor!, resource.id, user.id);
      flash(req, 'success', `${user.login} is assigned to ${resource.name}.`);
      redirect(req, res, `/admin/resources/${resource.id}/users`);
    },

    /** Clears the member's failed attempts and lock here (issue 15 §9), back to the Users tab. */
    async unlockUser(req: Request, res: Response) {
      await users.unlock(req.actor!, req.params.id as string, req.params.userId as string);
      flash(req, 'success', 'User unlocked.');
      redirect(req, res, `/admin/resources/${req.params.id}/users`);
    },

    async unassignUser(req: Request, res: Response) {
      await users.unassign(req.actor!, req.params.id as string, req.params.userId as string);
      flash(req, 'success', 'User unassigned.');
      redirect(req, res, `/admin/resources/${req.params.id}/users`);
    },

    async deleteConfirm(req: Request, res: Response) {
      const resource = await resources.get(req.actor!, req.params.id as string);
      render(req, res, { page: 'admin/resources/delete' }, { resource });
    },

    async remove(req: Request, res: Response) {
      const resource = await resources.get(req.actor!, req.params.id as string);
      await resources.remove(req.actor!, resource.id);
      flash(req, 'success', `Resource "${resource.name}" deleted.`);
      redirect(req, res, '/admin/resources');
    },
  };
}
