/**
 * Who acts in a portal's self-service actions (SPEC §5.3) and the rules every action shares,
 * enforced here in the domain layer so no route can skip them:
 * - the action (and for enrollment, the token type) must be enabled for this resource (403);
 * - sensitive actions need a second factor proven within the last 5 minutes when the user has a
 *   token in the resource (SEC-14 step-up);
 * - the tenant and the user come from the signed-in session, never from input.
 */
import type { Db } from '../db/knex';
import type { Actor } from '../audit/actor';
import { DomainError, ForbiddenError } from '../lib/errors';
import type { PortalResource } from '../selfservice/self-service.repository';
import type { AllowedAction, EnrollmentType } from '../selfservice/self-service.types';
import type { Visitor } from '../portal-sign-in/sign-in.service';
import { tokensForCheck } from '../tokens/token.repository';

export interface PortalUser {
  portal: PortalResource;
  userId: string;
  /** When this session last proved a second factor (ms since epoch), for step-up. */
  secondFactorAt?: number;
  visitor: Visitor;
  /** This browser's session id (kept when a password change ends the user's other sessions). */
  sessionId?: string;
}

/** A fresh second factor is one proven this recently (SPEC §5.3). */
export const STEP_UP_MS = 5 * 60_000;

/** The action needs a recent second factor first; the portal sends the user to its step-up page. */
export class StepUpRequiredError extends DomainError {
  readonly status = 403;
  readonly code = 'step_up_required';
  constructor() {
    super('Confirm it is you with your second factor first.');
  }
}

export function actorOf(u: PortalUser, label?: string): Actor {
  return { tenantId: u.portal.tenantId, type: 'user', id: u.userId, label, ip: u.visitor.ip, userAgent: u.visitor.userAgent };
}

export function isActionAllowed(portal: PortalResource, action: AllowedAction): boolean {
  return portal.allowedActions.includes(action);
}

/** 403 unless the administrator enabled `action` in this portal. */
export function requireAction(u: PortalUser, action: AllowedAction): void {
  if (!isActionAllowed(u.portal, action)) throw new ForbiddenError('Your administrator has not enabled this action in this portal.');
}

/** 403 unless enrollment is enabled and `type` is one of the portal's enrollment types. */
export function requireEnrollmentType(u: PortalUser, type: string): asserts type is EnrollmentType {
  requireAction(u, 'enroll_token');
  if (!u.portal.enrollmentTokenTypes.includes(type)) throw new ForbiddenError('Your administrator has not enabled this token type in this portal.');
}

/** True when the user has an enabled token in the resource and has not proven one in the last 5 minutes. */
export async function needsStepUp(db: Db, u: PortalUser, nowMs = Date.now()): Promise<boolean> {
  if (u.secondFactorAt && nowMs - u.secondFactorAt <= STEP_UP_MS) return false;
  const tokens = await tokensForCheck(db, u.portal.tenantId, u.portal.id, u.userId);
  return tokens.length > 0;
}

/** SEC-14: adding, replacing or removing a factor, and contact or password changes, need a fresh second factor. */
export async function requireFreshSecondFactor(db: Db, u: PortalUser): Promise<void> {
  if (await needsStepUp(db, u)) throw new StepUpRequiredError();
}
