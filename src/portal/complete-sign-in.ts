/**
 * The end of a portal sign-in (SPEC §5.2, §5.4) in one place for every path that reaches it:
 * the session id rotates to the signed-in state (SEC-17), the browser is noted as an environment
 * of this user (device cookie set or refreshed; new-browser email when the resource asks for it),
 * and, after a sign-in that included the second factor, the dashboard may offer to trust it.
 * `signInByTrustedEnvironment` is the §5.4 shortcut taken instead of the second-factor step.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Services } from '../services';
import { createDeviceCookie, type DeviceCookie } from '../environments/device-cookie';
import { createEnvironmentService, type EnvironmentService } from '../environments/environment.service';
import { summariseUserAgent } from '../environments/user-agent';
import { rotate, signInState } from './portal-session';
import { visitorOf } from './visitor';

export interface PortalEnvironments {
  service: EnvironmentService;
  cookie: DeviceCookie;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Trusted-environment service and device cookie, set for every portal request. */
      environments?: PortalEnvironments;
    }
  }
}

declare module 'express-session' {
  interface SessionData {
    /** Set by a sign-in that included the second factor from a browser not yet trusted: "Trust this browser?" may be offered. */
    trustOffer?: { resourceId: string; userId: string; asked?: boolean };
  }
}

/** Portal middleware: makes the environments available and tells the layout whether to offer trust. */
export function provideEnvironments(services: Services) {
  const environments: PortalEnvironments = {
    service: createEnvironmentService(services.db, services.messages),
    cookie: createDeviceCookie(services.config.sessionSecret, services.config.isProduction),
  };
  return (req: Request, res: Response, next: NextFunction) => {
    req.environments = environments;
    // `ask`: the dashboard asks once per sign-in (issue 15 §5); the manage page may still trust.
    if (trustOffered(req)) res.locals.trustPrompt = { label: summariseUserAgent(req.get('user-agent')), ask: !req.session.trustOffer!.asked };
    next();
  };
}

export function environmentsOf(req: Request): PortalEnvironments {
  if (!req.environments) throw new Error('provideEnvironments is not mounted on this portal');
  return req.environments;
}

/** This session may trust its browser: its sign-in proved a second factor here, and the action is enabled. */
export function trustOffered(req: Request): boolean {
  const offer = req.session?.trustOffer;
  const state = signInState(req);
  return Boolean(
    offer &&
      state?.stage === 'signed_in' &&
      state.secondFactorAt &&
      offer.resourceId === req.portal!.resource.id &&
      offer.userId === state.userId &&
      req.portal!.resource.allowedActions.includes('manage_environment'),
  );
}


/** The hash of the verified device id this request carries for this portal, if any. */
export function currentDeviceHash(req: Request): string | undefined {
  const { cookie } = environmentsOf(req);
  const id = cookie.read(req, req.portal!.resource.id);
  return id ? cookie.hash(id) : undefined;
}

/** The device id of this browser for this portal: the cookie's, or a new one set on the response. */
export function ensureDeviceId(req: Request, res: Response): string {
  const { cookie } = environmentsOf(req);
  const portal = req.portal!;
  const id = cookie.read(req, portal.resource.id) ?? cookie.newId();
  cookie.write(res, portal.base, portal.resource.id, id); // also slides the expiry of an existing one
  return id;
}

/**
 * Signs `userId` in at this portal: rotates the session to the signed-in state and notes the
 * browser. `secondFactorAt` only when this sign-in proved a second factor (step-up and "trust
 * this browser" depend on it). The caller redirects afterwards.
 */
export async function completeSignIn(req: Request, res: Response, userId: string, options: { secondFactorAt?: number; startedAt?: number } = {}): Promise<void> {
  const { service, cookie } = environmentsOf(req);
  const portal = req.portal!.resource;
  const now = Date.now();
  await rotate(req, {
    resourceId: portal.id,
    userId,
    stage: 'signed_in',
    startedAt: options.startedAt ?? now,
    signedInAt: now,
    ...(options.secondFactorAt ? { secondFactorAt: options.secondFactorAt } : {}),
  });
  const environment = await service.recordSignIn(portal, visitorOf(req), userId, cookie.hash(ensureDeviceId(req, res)));
  if (options.secondFactorAt && !environment.trustedAt) req.session.trustOffer = { resourceId: portal.id, userId };
}

/**
 * §5.4: after a first factor that left a second factor due, true when this browser's device
 * cookie names an environment this user trusted here and the resource lets it skip the second
 * factor (audited by the service). The caller then completes the sign-in without secondFactorAt.
 */
export async function signInByTrustedEnvironment(req: Request, userId: string): Promise<boolean> {
  return environmentsOf(req).service.signInByTrustedEnvironment(req.portal!.resource, visitorOf(req), userId, currentDeviceHash(req));
}
