/**
 * Portal profile actions (SPEC §5.3), relative to `{portal}/actions`: Change Name, Alias,
 * Password, Email and Phone. Each route passes the action gate (signed in, action enabled, else
 * 403); password, email and phone also need a recent second factor (SEC-14). The domain services
 * check the same rules again. Bad input re-renders the form with inline messages (422; 409 for a
 * taken login; 429 when throttled); a success goes back to the dashboard with a notice.
 */
import { Router, type Request, type Response } from 'express';
import type { Services } from '../../services';
import { ConflictError, RateLimitedError, ValidationError } from '../../lib/errors';
import { createProfileActions } from '../../portal-actions/profile.service';
import { createContactChanges, type ContactKind } from '../../portal-actions/contact-change.service';
import { createContactRemovals } from '../../portal-actions/contact-removal.service';
import { redirect, render, bodyText, takeFlash } from '../../web/views';
import type { createActionGate } from '../action-gate';

/** Runs a change; a domain refusal of the input shows `page` again with its messages. */
type PageData = Record<string, unknown> | (() => Promise<Record<string, unknown>>);

/** Runs a change; a domain refusal of the input shows `page` again (data read after the refusal) with its messages. */
async function attempt(req: Request, res: Response, page: string, data: PageData, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const refused = err instanceof ValidationError || err instanceof ConflictError || err instanceof RateLimitedError;
    if (!refused) throw err;
    const fields = err instanceof RateLimitedError ? {} : err.fields;
    const errors = Object.keys(fields).length ? fields : undefined;
    const values = typeof data === 'function' ? await data() : data;
    render(req, res, { page }, { ...values, errors, error: errors ? undefined : err.message }, err.status);
  }
}

function done(req: Request, res: Response, text: string, to = req.portal!.base): void {
  req.session.flash = { kind: 'success', text };
  redirect(req, res, to);
}

export function profileActionRoutes(services: Services, gates: ReturnType<typeof createActionGate>): Router {
  const { db, messages } = services;
  const profile = createProfileActions(db, messages, services.limiter);
  const contacts = createContactChanges(db, messages, services.challengeCodes);
  const removals = createContactRemovals(db, messages);
  const user = (req: Request) => req.portalUser!.dashboard.user;
  const r = Router();

  const NAME = 'portal/actions/profile-name';
  r.get('/change_name', ...gates.gate('change_name'), (req, res) => render(req, res, { page: NAME }, { firstName: user(req).firstName ?? '', lastName: user(req).lastName ?? '' }));
  r.post('/change_name', ...gates.gate('change_name'), async (req, res) => {
    const input = { firstName: bodyText(req, 'firstName', 1000), lastName: bodyText(req, 'lastName', 1000) };
    await attempt(req, res, NAME, input, async () => {
      await profile.changeName(req.portalUser!, input);
      done(req, res, 'Your name was changed.');
    });
  });

  const ALIAS = 'portal/actions/profile-alias';
  r.get('/change_alias', ...gates.gate('change_alias'), (req, res) => render(req, res, { page: ALIAS }, { current: user(req).login, login: user(req).login }));
  r.post('/change_alias', ...gates.gate('change_alias'), async (req, res) => {
    const login = bodyText(req, 'login', 1000);
    await attempt(req, res, ALIAS, { current: user(req).login, login }, async () => {
      const changed = await profile.changeAlias(req.portalUser!, { login });
      done(req, res, `Your login is now ${changed.login}.`);
    });
  });

  const PASSWORD = 'portal/actions/profile-password';
  const passwordPage = (req: Request) => ({ hasPassword: user(req).hasPassword });
  r.get('/change_password', ...gates.gate('change_password'), gates.freshSecondFactor, (req, res) => render(req, res, { page: PASSWORD }, passwordPage(req)));
  r.post('/change_password', ...gates.gate('change_password'), gates.freshSecondFactor, async (req, res) => {
    const input = { currentPassword: bodyText(req, 'currentPassword', 1000), newPassword: bodyText(req, 'newPassword', 1000), confirmPassword: bodyText(req, 'confirmPassword', 1000) };
    await attempt(req, res, PASSWORD, passwordPage(req), async () => {
      await profile.changePassword(req.portalUser!, input);
      done(req, res, 'Your password was changed.');
    });
  });

  const CONTACT = 'portal/actions/profile-contact';
  for (const kind of ['email', 'phone'] as ContactKind[]) {
    const path = `/change_${kind}`;
    const steps = [...gates.gate(`change_${kind}`), gates.freshSecondFactor];
    const page = async (req: Request, extra: Record<string, unknown> = {}) => ({
      kind,
      current: user(req)[kind],
      pending: await contacts.pending(req.portalUser!, kind),
      value: '',
      // Issue 15 §7: removal is offered with the reason it is not possible, when it is not.
      keepReason: await removals.whyNot(req.portalUser!, user(req), kind),
      ...extra,
    });
    const here = (req: Request) => `${req.portal!.base}actions/change_${kind}`;

    r.get(path, ...steps, async (req, res) => render(req, res, { page: CONTACT }, await page(req, { flash: takeFlash(req) })));
    r.post(path, ...steps, async (req, res) => {
      const value = bodyText(req, kind, 300);
      await attempt(req, res, CONTACT, () => page(req, { value, pending: undefined }), async () => {
        await contacts.request(req.portalUser!, kind, value);
        done(req, res, kind === 'email' ? 'We sent a code to the new address.' : 'We sent a code by SMS to the new number.', here(req));
      });
    });
    r.post(`${path}/confirm`, ...steps, async (req, res) => {
      await attempt(req, res, CONTACT, () => page(req), async () => {
        await contacts.confirm(req.portalUser!, kind, bodyText(req, 'code', 64));
        done(req, res, kind === 'email' ? 'Your email address was changed.' : 'Your phone number was changed.');
      });
    });
    r.post(`${path}/resend`, ...steps, async (req, res) => {
      await attempt(req, res, CONTACT, () => page(req), async () => {
        const sent = await contacts.resend(req.portalUser!, kind);
        if (!sent) req.session.flash = { kind: 'error', text: 'That change has expired. Start again.' };
        else req.session.flash = { kind: 'success', text: 'A new code is on its way.' };
        redirect(req, res, here(req));
      });
    });
    r.post(`${path}/remove`, ...steps, async (req, res) => {
      await attempt(req, res, CONTACT, () => page(req), async () => {
        await removals.remove(req.portalUser!, kind);
        done(req, res, kind === 'email' ? 'Your email address was removed.' : 'Your phone number was removed.');
      });
    });
    r.post(`${path}/cancel`, ...gates.gate(`change_${kind}`), async (req, res) => {
      await contacts.cancel(req.portalUser!, kind);
      done(req, res, 'The change was cancelled.', here(req));
    });
  }
  return r;
}
