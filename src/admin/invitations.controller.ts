/** Console: invite a resource's users to enrol, resend, cancel (issue 12 §3). Thin: the service checks and audits. */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { ConflictError, ValidationError } from '../lib/errors';
import type { InviteResult, SkipReason } from '../invitations/invitation.types';
import { flash, redirect } from '../web/views';

const SKIPPED: Record<SkipReason, string> = {
  not_assigned: 'not assigned',
  enrolled: 'already enrolled',
  blocked: 'blocked',
  no_email: 'without an email address',
  invited_recently: 'invited in the last 24 hours',
};

const users = (n: number) => `${n} user${n === 1 ? '' : 's'}`;

/** "Invited 3 users. Skipped 2: 1 without an email address, 1 blocked." */
export function inviteSummary(result: InviteResult): string {
  const counts = new Map<SkipReason, number>();
  for (const s of result.skipped) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  // In a fixed order, whatever the order of the users.
  const skipped = (Object.keys(SKIPPED) as SkipReason[]).filter((r) => counts.has(r)).map((r) => `${counts.get(r)} ${SKIPPED[r]}`).join(', ');
  return `Invited ${users(result.invited)}.${result.skipped.length ? ` Skipped ${result.skipped.length}: ${skipped}.` : ''}`;
}

export function createInvitationsController({ invitations }: Services) {
  /** Runs a change and tells the admin the outcome on the Users tab; rule refusals become an error flash. */
  async function thenBack(req: Request, res: Response, change: () => Promise<string>) {
    try {
      flash(req, 'success', await change());
    } catch (err) {
      if (!(err instanceof ValidationError || err instanceof ConflictError)) throw err;
      flash(req, 'error', (err instanceof ValidationError && Object.values(err.fields)[0]) || err.message);
    }
    redirect(req, res, `/admin/resources/${String(req.params.id)}/users`);
  }

  return {
    async invite(req: Request, res: Response) {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const input = body.filter === 'not_enrolled' ? { filter: 'not_enrolled' } : { userIds: [body.userIds ?? []].flat().filter((v) => typeof v === 'string') };
      await thenBack(req, res, async () => inviteSummary(await invitations.invite(req.actor!, String(req.params.id), input)));
    },

    async resend(req: Request, res: Response) {
      await thenBack(req, res, async () => {
        await invitations.resend(req.actor!, String(req.params.id), String(req.params.userId));
        return 'The invitation is sent again.';
      });
    },

    async cancel(req: Request, res: Response) {
      await thenBack(req, res, async () => {
        await invitations.cancel(req.actor!, String(req.params.id), String(req.params.userId));
        return 'The invitation is cancelled.';
      });
    },
  };
}
