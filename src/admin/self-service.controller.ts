/** Console: the resource page's Self-Service tab (SPEC §4), three sub-tabs each with its own form and Save. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { ConflictError, ValidationError } from '../lib/errors';
import { flash, redirect, render } from '../web/views';
import { formList, formText } from './form';
import { ACTION_GROUPS, ALLOWED_ACTIONS, ENROLLMENT_TYPES, ENROLLMENT_TYPE_IDS } from '../selfservice/self-service.types';

type Sub = 'general' | 'actions' | 'enrollment';
const SUB_PATH: Record<Sub, string> = { general: '', actions: '/actions', enrollment: '/enrollment' };

/** "All" is a submit-time option, so the toggle works without JavaScript. */
function checked(body: Record<string, unknown>, field: string, all: readonly string[]): string[] {
  return formText(body.all) === '1' ? [...all] : formList(body[field]);
}

export function createSelfServiceController({ resources, selfService }: Services) {
  async function show(req: Request, res: Response, sub: Sub, extra: Record<string, unknown> = {}, status = 200) {
    const resource = await resources.get(req.actor!, req.params.id as string);
    const config = await selfService.get(req.actor!, resource.id);
    const urls = config.address ? selfService.urls(config.address) : undefined;
    render(
      req,
      res,
      { page: 'admin/resources/show', partial: 'admin/resources/_self-service-tab' },
      { resource, tab: 'self-service', sub, config, urls, values: config, errors: {}, actionGroups: ACTION_GROUPS, enrollmentTypes: ENROLLMENT_TYPES, ...extra },
      status,
    );
  }

  async function save(req: Request, res: Response, sub: Sub, values: Record<string, unknown>, write: () => Promise<unknown>, done: string) {
    try {
      await write();
    } catch (err) {
      if (!(err instanceof ValidationError || err instanceof ConflictError)) throw err;
      const config = await selfService.get(req.actor!, req.params.id as string);
      await show(req, res, sub, { values: { ...config, ...values }, errors: err.fields, error: err.message }, err.status);
      return;
    }
    flash(req, 'success', done);
    redirect(req, res, `/admin/resources/${req.params.id}/self-service${SUB_PATH[sub]}`);
  }

  return {
    general: (req: Request, res: Response) => show(req, res, 'general'),
    actions: (req: Request, res: Response) => show(req, res, 'actions'),
    enrollment: (req: Request, res: Response) => show(req, res, 'enrollment'),

    async saveGeneral(req: Request, res: Response) {
      const address = formText(req.body.address) ?? '';
      await save(req, res, 'general', { address }, () => selfService.updateGeneral(req.actor!, req.params.id as string, address), address.trim() ? 'Self-Service address saved: the portal is active.' : 'Self-Service address cleared: the portal is deactivated.');
    },

    async saveActions(req: Request, res: Response) {
      const allowedActions = checked(req.body, 'actions', ALLOWED_ACTIONS);
      await save(req, res, 'actions', { allowedActions }, () => selfService.updateActions(req.actor!, req.params.id as string, allowedActions), 'Allowed actions saved.');
    },

    async saveEnrollment(req: Request, res: Response) {
      const enrollmentTokenTypes = checked(req.body, 'types', ENROLLMENT_TYPE_IDS);
      await save(req, res, 'enrollment', { enrollmentTokenTypes }, () => selfService.updateEnrollment(req.actor!, req.params.id as string, enrollmentTokenTypes), 'Token enrollment saved.');
    },
  };
}
