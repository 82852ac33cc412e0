/**
 * The portal's own-profile actions (SPEC §5.3): Change Name, Change Alias, Change Password. The
 * acting user and tenant come from the signed-in session (PortalUser), never from input; each
 * method checks again that its action is enabled (and, for the password, that a second factor was
 * proven recently, SEC-14), and writes its audit event in the transaction of the change. Email and
 * phone changes, which need a code to the new address first, live in contact-change.service.ts.
 */
import { z } from 'zod';
import type { Db } from '../db/knex';
import { isUniqueViolation } from '../db/errors';
import { ConflictError, NotFoundError, ValidationError, type FieldErrors } from '../lib/errors';
import { hashPassword, passwordProblem, verifyPassword } from '../lib/passwords';
import { parseInput } from '../lib/validation';
import { recordAudit } from '../audit/audit.repository';
import type { MessageService } from '../outbox/message.service';
import type { Limit, RateLimiter } from '../rate-limits/rate-limiter';
import { findUser, updateUser } from '../users/user.repository';
import { userFieldsSchema, type User } from '../users/user.types';
import { prepareNotice } from './notify';
import { actorOf, requireAction, requireFreshSecondFactor, type PortalUser } from './portal-user';
import * as repo from './profile.repository';

export const LOGIN_TAKEN = 'This login is taken.';
export const WRONG_CURRENT_PASSWORD = 'Your current password is not right.';

/** Guesses at the current password per user and portal (the sign-in lock is not touched). */
export const PASSWORD_CHECK_LIMIT: Limit = { name: 'portal-password-change', max: 10, windowSeconds: 900 };

const noControlCharacters = (v: string | null | undefined) => !v || !/\p{Cc}/u.test(v);
const nameField = (schema: typeof userFieldsSchema.shape.firstName) => schema.refine(noControlCharacters, 'Use letters, spaces and punctuation only.');
const nameSchema = z.object({ firstName: nameField(userFieldsSchema.shape.firstName), lastName: nameField(userFieldsSchema.shape.lastName) });
const aliasSchema = z.object({ login: userFieldsSchema.shape.login });

export interface NameInput {
  firstName: string;
  lastName: string;
}

export interface PasswordInput {
  currentPassword: string;
  newPassword: string;
  confirmPassword: string;
}

export type ProfileActions = ReturnType<typeof createProfileActions>;

export function createProfileActions(db: Db, messages: MessageService, limiter: RateLimiter) {
  return {
    /** Sets first and last name (trimmed, at most 100 characters each; blank clears). */
    async changeName(u: PortalUser, input: NameInput): Promise<User> {
      requireAction(u, 'change_name');
      const data = parseInput(nameSchema, input);
      return db.transaction(async (trx) => {
        const before = await findUser(trx, u.portal.tenantId, u.userId);
        const user = await updateUser(trx, u.portal.tenantId, u.userId, { first_name: data.firstName ?? null, last_name: data.lastName ?? null });
        if (!before || !user) throw new NotFoundError('Your account');
        const fields = [before.firstName !== user.firstName && 'firstName', before.lastName !== user.lastName && 'lastName'].filter(Boolean);
        await recordAudit(trx, actorOf(u, user.login), { action: 'portal.profile.name_change', targetType: 'user', targetId: u.userId, resourceId: u.portal.id, details: { fields } });
        return user;
      });
    },

    /** Sets the login (alias): unique in the tenant, case-insensitive; 409 when taken. */
    async changeAlias(u: PortalUser, input: { login: string }): Promise<User> {
      requireAction(u, 'change_alias');
      const { login } = parseInput(aliasSchema, input);
      const taken = () => new ConflictError(LOGIN_TAKEN, { login: LOGIN_TAKEN });
      try {
        return await db.transaction(async (trx) => {
          const before = await findUser(trx, u.portal.tenantId, u.userId);
          if (!before) throw new NotFoundError('Your account');
          if (before.login === login) throw new ValidationError({ login: 'This is already your login.' });
          // An address-like login must be the user's own email: any other would let the taken check
          // tell whether some colleague uses that address (enumeration, SEC-22).
          if (login.includes('@') && login.toLowerCase() !== before.email?.toLowerCase()) {
            throw new ValidationError({ login: 'A login with "@" must be your own email address. Choose a login without "@".' });
          }
          if (await repo.loginTakenByOther(trx, u.portal.tenantId, login, u.userId)) throw taken();
          const user = (await updateUser(trx, u.portal.tenantId, u.userId, { login }))!;
          await recordAudit(trx, actorOf(u, login), { action: 'portal.profile.alias_change', targetType: 'user', targetId: u.userId, resourceId: u.portal.id, details: { from: before.login, to: login } });
          return user;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw taken();
        throw err;
      }
    },

    /**
     * SEC-16: the current password (when the user has one), a new one that passes the policy and
     * its confirmation; argon2id. Needs a recent second factor (SEC-14). A wrong current password
     * gets one message and counts only toward a per-user limit on such guesses; the sign-in lock
     * stays as it is. The user is told by email. No password reaches the audit log.
     */
    async changePassword(u: PortalUser, input: PasswordInput): Promise<void> {
      requireAction(u, 'change_password');
      await requireFreshSecondFactor(db, u);
      const { tenantId } = u.portal;
      const stored = await repo.passwordHashOf(db, tenantId, u.userId);
      if (stored === undefined) throw new NotFoundError('Your account');

      const errors: FieldErrors = {};
      if (stored && !input.currentPassword) errors.currentPassword = 'Enter your current password.';
      if (!input.newPassword) errors.newPassword = 'Enter a new password.';
      else {
        const problem = passwordProblem(input.newPassword);
        if (problem) errors.newPassword = problem;
      }
      if (input.newPassword && input.confirmPassword !== input.newPassword) errors.confirmPassword = 'The two new passwords are not the same.';
      if (Object.keys(errors).length) throw new ValidationError(errors);

      if (stored) {
        await limiter.consume([{ limit: PASSWORD_CHECK_LIMIT, subject: `${u.portal.id}:${u.userId}` }]);
        if (!(await verifyPassword(stored, input.currentPassword))) {
          await recordAudit(db, actorOf(u), { action: 'portal.profile.password_change', targetType: 'user', targetId: u.userId, resourceId: u.portal.id, result: 'failure', details: { reason: 'wrong_current_password' } });
          throw new ValidationError({ currentPassword: WRONG_CURRENT_PASSWORD });
        }
      }
      const next = await hashPassword(input.newPassword);
      const dispatch = await db.transaction(async (trx) => {
        if (!(await repo.replacePasswordHash(trx, tenantId, u.userId, stored, next))) throw new ConflictError('Your password was changed meanwhile. Reload the page and try again.');
        const user = (await findUser(trx, tenantId, u.userId))!;
        const endedSessions = await repo.deleteOtherPortalSessions(trx, u.userId, u.sessionId);
        await recordAudit(trx, actorOf(u, user.login), { action: 'portal.profile.password_change', targetType: 'user', targetId: u.userId, resourceId: u.portal.id, details: { hadPassword: Boolean(stored), endedSessions } });
        return prepareNotice(trx, messages, tenantId, user.email, {
          subject: 'Your password was changed',
          lines: [`The password of your account at ${u.portal.name} was changed just now. Your other signed-in browsers were signed out.`],
        });
      });
      await dispatch();
    },
  };
}
