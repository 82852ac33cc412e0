/** Console (owners only): the tenant's admins, invitations, role changes, disable/enable, unlock. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { ConflictError, ForbiddenError, ValidationError } from '../lib/errors';
import { ROLES } from '../admins/admin.types';
import { flash, redirect, render } from '../web/views';
import { formList, formText } from './form';

const VIEWS = { page: 'admin/admins/index', partial: 'admin/admins/_panel' };

/** The scope form's fields: "Only these resources" and the ticked ones. */
function scopeFromForm(body: Record<string, unknown>) {
  return { limited: formText(body.scope) === 'selected', resourceIds: formList(body.resourceIds) };
}

export function createAdminsController({ admins, adminSignIn, resources }: Services) {

  /** The admins page with the invite form; `extra` carries form values, field errors or a refusal message. */
  async function renderList(req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) {
    const [list, all] = await Promise.all([admins.list(req.actor!.tenantId), resources.options(req.actor!)]);
    const names = new Map(all.map((r) => [r.id, r.name]));
    render(req, res, VIEWS, { admins: list, roles: ROLES, resources: all, resourceNames: names, values: { role: 'admin', scope: 'all' }, errors: {}, ...extra }, status);
  }

  /**
   * Business refusals (last owner, own account) and bad input re-render the list with the message
   * in place, so the owner stays where they were; anything else goes to the error handler.
   */
  async function refuseOrThrow(req: Request, res: Response, err: unknown) {
    if (err instanceof ForbiddenError || err instanceof ValidationError) {
      await renderList(req, res, { error: err instanceof ValidationError ? Object.values(err.fields).join(' ') : err.message }, err.status);
      return;
    }
    throw err;
  }

  return {
    list(req: Request, res: Response) {
      return renderList(req, res);
    },

    async invite(req: Request, res: Response) {
      const values = { email: formText(req.body.email) ?? '', role: formText(req.body.role) ?? '', scope: formText(req.body.scope) ?? 'all', resourceIds: formList(req.body.resourceIds) };
      try {
        const { limited, resourceIds } = scopeFromForm(req.body);
        const invited = await admins.invite(req.actor!, { email: values.email, role: values.role, limited, resourceIds });
        flash(req, 'success', `Invitation sent to ${invited.email}. The link works for 7 days.`);
        redirect(req, res, '/admin/admins');
      } catch (err) {
        if (err instanceof ValidationError || err instanceof ConflictError) {
          await renderList(req, res, { values, errors: err.fields, inviteError: err.message }, err.status === 409 ? 422 : err.status);
          return;
        }
        throw err;
      }
    },

    async changeRole(req: Request, res: Response) {
      const id = req.params.id as string;
      try {
        const updated = await admins.changeRole(req.actor!, id, formText(req.body.role) ?? '');
        flash(req, 'success', `${updated.email} is now ${updated.role}.`);
        // An owner who demoted themselves can no longer see this page.
        redirect(req, res, id === req.actor!.id && updated.role !== 'owner' ? '/admin' : '/admin/admins');
      } catch (err) {
        await refuseOrThrow(req, res, err);
      }
    },

    /** The form limiting an admin to selected resources (issue 12 §5). */
    async resourcesForm(req: Request, res: Response) {
      const target = await admins.get(req.actor!.tenantId, req.params.id as string);
      const values = { scope: target.limitedToResources ? 'selected' : 'all', resourceIds: target.resourceIds ?? [] };
      render(req, res, { page: 'admin/admins/resources' }, { target, resources: await resources.options(req.actor!), values, errors: {} });
    },

    async setResources(req: Request, res: Response) {
      const target = await admins.get(req.actor!.tenantId, req.params.id as string);
      const input = scopeFromForm(req.body);
      try {
        const updated = await admins.setResourceScope(req.actor!, target.id, input);
        const count = updated.resourceIds?.length ?? 0;
        flash(req, 'success', updated.limitedToResources ? `${updated.email} now manages ${count === 0 ? 'no resources' : count === 1 ? '1 resource' : `${count} resources`} only.` : `${updated.email} now manages all resources.`);
        redirect(req, res, '/admin/admins');
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        const values = { scope: input.limited ? 'selected' : 'all', resourceIds: input.resourceIds };
        render(req, res, { page: 'admin/admins/resources' }, { target, resources: await resources.options(req.actor!), values, errors: err.fields, error: err.message }, 422);
      }
    },

    async disableConfirm(req: Request, res: Response) {
      const target = await admins.get(req.actor!.tenantId, req.params.id as string);
      render(req, res, { page: 'admin/admins/disable' }, { target });
    },

    async disable(req: Request, res: Response) {
      try {
        const updated = await admins.setDisabled(req.actor!, req.params.id as string, true);
        flash(req, 'success', `${updated.email} is disabled and signed out.`);
        redirect(req, res, '/admin/admins');
      } catch (err) {
        await refuseOrThrow(req, res, err);
      }
    },

    async unlock(req: Request, res: Response) {
      const unlocked = await adminSignIn.unlock(req.actor!, req.params.id as string);
      flash(req, 'success', `${unlocked.email} is unlocked and can sign in again.`);
      redirect(req, res, '/admin/admins');
    },

    async enable(req: Request, res: Response) {
      try {
        const updated = await admins.setDisabled(req.actor!, req.params.id as string, false);
        flash(req, 'success', `${updated.email} can sign in again.`);
        redirect(req, res, '/admin/admins');
      } catch (err) {
        await refuseOrThrow(req, res, err);
      }
    },
  };
}
