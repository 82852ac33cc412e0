/** PLACEHOLDER: to be implemented. */
import type { Request, Response } from 'express';
import type { Services } from '../services';

export function createAdminsController(_services: Services) {
  const todo = (_req: Request, res: Response) => { res.status(501).send('not implemented'); };
  return {
    list: todo,
    invite: todo,
    changeRole: todo,
    disable: todo,
    enable: todo,
  };
}
