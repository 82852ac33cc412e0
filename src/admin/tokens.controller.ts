/**
 * Console: tokens list (search, filters, paging), creation of software tokens and the one-time
 * page that shows their key (QR + manual key) or backup codes. The token page is in
 * token-page.controller.ts.
 */
import type { NextFunction, Request, Response } from 'express';
import QRCode from 'qrcode';
import type { Services } from '../services';
import { isUuid } from '../db/errors';
import { ConflictError, ValidationError } from '../lib/errors';
import { pageRequest } from '../lib/pagination';
import type { SecretBox } from '../lib/secret-box';
import { requireWriter } from '../admins/permissions';
import { TOKEN_TYPES, type TokenListFilter, type TokenType } from '../tokens/token.types';
import { flash, redirect, render } from '../web/views';
import { formNumber, formText } from './form';

/** What an admin can create here; hardware comes from imports, webauthn from the portal. */
export const CREATABLE_TYPES = ['totp', 'hotp', 'email', 'sms', 'backup_codes'] as const;
const NEEDS_OWNER: readonly string[] = ['email', 'sms', 'backup_codes'];
const STATUSES = ['enabled', 'disabled', 'stock'] as const;

/**
 * Route guard for `/admin/tokens/:id...`: a non-UUID id is not a token, so the request goes on to
 * the next matching route (the import pages live beside these paths) or to the 404 page.
 */
export function tokenIdParam(req: Request, _res: Response, next: NextFunction): void {
  next(isUuid(String(req.params.id)) ? undefined : 'route');
}

/** The one-time data rides in the session sealed: sessions live in PostgreSQL and a dump must hold no seed (SEC-03). */
interface Reveal {
  uri?: string;
  backupCodes?: string[];
}
const revealContext = (tokenId: string) => `token-reveal:${tokenId}`;
const sealReveal = (secrets: SecretBox, tokenId: string, reveal: Reveal) => secrets.encrypt(Buffer.from(JSON.stringify(reveal)), revealContext(tokenId));
const openReveal = (secrets: SecretBox, tokenId: string, sealed: string): Reveal => JSON.parse(secrets.decrypt(sealed, revealContext(tokenId)).toString());

function listQuery(query: Record<string, unknown>) {
  const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
  const type = text(query.type);
  const status = text(query.status);
  return {
    q: text(query.q),
    type: (TOKEN_TYPES as readonly string[]).includes(type) ? (type as TokenType) : ('' as const),
    status: (STATUSES as readonly string[]).includes(status) ? (status as (typeof STATUSES)[number]) : ('' as const),
    owner: text(query.owner),
    perPage: text(query.perPage),
  };
}

function createValues(body: Record<string, unknown>) {
  return {
    type: formText(body.type) ?? 'totp',
    owner: formText(body.owner)?.trim() ?? '',
    name: formText(body.name)?.trim() ?? '',
    algorithm: formText(body.algorithm) ?? 'SHA1',
    digits: formText(body.digits) ?? '6',
    period: formText(body.period) ?? '30',
    resourceId: formText(body.resourceId)?.trim() ?? '',
  };
}

export function createTokensController({ tokens, users, resources, secrets }: Services) {
  const newPage = { page: 'admin/tokens/new', partial: 'admin/tokens/_form' };

  return {
    async list(req: Request, res: Response) {
      const query = listQuery(req.query);
      const owner = query.owner ? await users.findByLogin(req.actor!, query.owner) : undefined;
      const filter: TokenListFilter = { q: query.q || undefined, type: query.type || undefined, status: query.status || undefined, userId: owner?.id };
      const request = pageRequest(req.query);
      // An owner login that matches nobody filters everything out, and the page says why.
      const page = query.owner && !owner ? { items: [], total: 0, pages: 1, ...request } : await tokens.list(req.actor!, filter, request);
      const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '') as Array<[string, string]>).toString();
      const filtered = Boolean(query.q || query.type || query.status || query.owner);
      render(req, res, { page: 'admin/tokens/index', partial: 'admin/tokens/_table' }, { page, query, filtered, ownerMissing: Boolean(query.owner && !owner), baseUrl: `/admin/tokens${params ? `?${params}` : ''}` });
    },

    async newForm(req: Request, res: Response) {
      const owner = typeof req.query.owner === 'string' ? req.query.owner : '';
      render(req, res, newPage, { values: { ...createValues({}), owner }, errors: {}, resources: await resources.options(req.actor!) });
    },

    /** Creates the token, then sends the browser to the page that shows its key once. */
    async create(req: Request, res: Response) {
      requireWriter(req.actor!);
      const values = createValues(req.body);
      const fail = async (errors: Record<string, string>, error = 'Some fields need attention.') => render(req, res, newPage, { values, errors, error, resources: await resources.options(req.actor!) }, 422);
      if (!(CREATABLE_TYPES as readonly string[]).includes(values.type)) return fail({ type: 'Choose one of the types below.' });
      const owner = values.owner ? await users.findByLogin(req.actor!, values.owner) : undefined;
      if (values.owner && !owner) return fail({ owner: `No user has the login "${values.owner}".` });
      if (!owner && NEEDS_OWNER.includes(values.type)) return fail({ owner: 'This type of token belongs to a user: enter their login.' });

      const input: Record<string, unknown> = { type: values.type, userId: owner?.id, name: values.name || undefined };
      if (values.type === 'totp' || values.type === 'hotp') {
        Object.assign(input, { algorithm: values.algorithm, digits: formNumber(values.digits) });
        if (values.type === 'totp') input.period = formNumber(values.period);
      }
      try {
        const { token, otpauthUri, backupCodes } = await tokens.create(req.actor!, input, { resourceId: values.resourceId || undefined });
        if (!otpauthUri && !backupCodes) {
          flash(req, 'success', `Token ${token.serial} created.`);
          return redirect(req, res, `/admin/tokens/${token.id}`);
        }
        req.session.revealToken = { tokenId: token.id, sealed: sealReveal(secrets, token.id, { uri: otpauthUri, backupCodes }) };
        redirect(req, res, `/admin/tokens/${token.id}/created`);
      } catch (err) {
        if (!(err instanceof ValidationError || err instanceof ConflictError)) throw err;
        // The service names API fields; the form shows them on its own (owner, resource).
        const { userId, tokenId, ...fields } = err.fields;
        await fail({ ...fields, ...(userId ? { owner: userId } : {}), ...(tokenId ? { resourceId: tokenId } : {}) }, err.message);
      }
    },

    /**
     * The one-time page: the key or codes come out of the session on this response only, and the
     * response is never cached. Any later visit says they cannot be shown again.
     */
    async created(req: Request, res: Response) {
      const token = await tokens.get(req.actor!, req.params.id as string);
      const pending = req.session.revealToken;
      let reveal: Reveal | undefined;
      if (pending?.tokenId === token.id) {
        delete req.session.revealToken;
        reveal = openReveal(secrets, token.id, pending.sealed);
      }
      let qrSvg: string | undefined;
      let manualKey: string | undefined;
      if (reveal?.uri) {
        qrSvg = await QRCode.toString(reveal.uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
        manualKey = (new URL(reveal.uri).searchParams.get('secret') ?? '').replace(/(.{4})/g, '$1 ').trim();
      }
      const owner = token.userId ? await users.get(req.actor!, token.userId) : undefined;
      res.set('Cache-Control', 'no-store');
      render(req, res, { page: 'admin/tokens/created' }, { token, owner, reveal, qrSvg, manualKey });
    },
  };
}
