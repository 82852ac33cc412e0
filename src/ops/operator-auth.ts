/**
 * HTTP Basic authentication of operators (OPS_USERNAME / OPS_PASSWORD from configuration) for
 * /ops. Operators are not tenant admins: no console session or API key grants access. Name and
 * password are both compared in constant time, and both always, so a wrong name and a wrong
 * password take the same time.
 */
import type { NextFunction, Request, Response } from 'express';
import { safeEqual } from '../lib/crypto';

export function requireOperator(credentials: { username: string; password: string }) {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = parseBasic(req.get('authorization'));
    const nameOk = safeEqual(given?.username ?? '', credentials.username);
    const passwordOk = safeEqual(given?.password ?? '', credentials.password);
    if (given && nameOk && passwordOk) return next();
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="MFA operators", charset="UTF-8"')
      .set('Cache-Control', 'no-store')
      .type('text')
      .send('Operator credentials required (OPS_USERNAME and OPS_PASSWORD of this deployment). Console accounts have no access here.\n');
  };
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Browsers send Basic credentials with every request to the origin, including ones another site
 * triggers: the dashboard's changes (PUT/POST/PATCH/DELETE from its own scripts) must come from
 * this origin. Fetch metadata says so; clients that send none (curl) are not browsers.
 */
export function sameOriginChanges(req: Request, res: Response, next: NextFunction): void {
  const site = req.get('sec-fetch-site');
  if (req.method === 'GET' || req.method === 'HEAD' || !site || site === 'same-origin') return next();
  res.status(403).type('text').send('Changes to the queues are accepted from the dashboard itself only.\n');
}
