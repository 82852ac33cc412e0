/**
 * Bearer-key authentication for the JSON API (SEC-20, SEC-21). The key travels only in the
 * Authorization header: never a query parameter or cookie, which end up in logs and browsers.
 * The tenant of every request is the key's tenant; nothing in the request can choose another.
 */
import type { NextFunction, Request, Response } from 'express';
import type { ApiKeyService } from '../api-keys/api-key.service';
import { UnauthorizedError } from '../lib/errors';

/** Returns the token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

export function requireApiKey(apiKeys: ApiKeyService) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = bearerToken(req.get('authorization'));
    if (!token) {
      res.set('WWW-Authenticate', 'Bearer realm="api"');
      throw new UnauthorizedError('Send your API key in the Authorization header: "Authorization: Bearer <key>".');
    }
    const key = await apiKeys.authenticate(token);
    if (!key) {
      res.set('WWW-Authenticate', 'Bearer realm="api", error="invalid_token"');
      throw new UnauthorizedError('This API key is not valid or has been revoked. Ask a tenant owner for a new key.');
    }
    req.actor = { tenantId: key.tenantId, type: 'api_key', id: key.keyId, label: key.name, ip: req.ip, userAgent: req.get('user-agent') };
    next();
  };
}
