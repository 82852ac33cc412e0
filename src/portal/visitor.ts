/** Who is at the portal, as the sign-in and audit records see them. */
import type { Request } from 'express';
import type { Visitor } from '../portal-sign-in/sign-in.service';

export function visitorOf(req: Request): Visitor {
  return { ip: req.ip, userAgent: req.get('user-agent')?.slice(0, 300) };
}
