/** PLACEHOLDER: to be implemented. */
import type { Request, Response } from 'express';
import type { Services } from '../services';

export function createUsersController(_services: Services) {
  const todo = (_req: Request, res: Response) => { res.status(501).send('not implemented'); };
  return {
    list: todo,
    newForm: todo,
    create: todo,
    show: todo,
    update: todo,
    block: todo,
    unblock: todo,
    assignResource: todo,
    unassignResource: todo,
    deleteConfirm: todo,
    remove: todo,
  };
}
