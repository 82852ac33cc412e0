/**
 * Console: enrolment progress on a resource's Users tab (issue 12 §4): the figures the tab shows
 * above the list, and the list as CSV. The tab itself is rendered by resources.controller.
 */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import type { Scope } from '../admins/resource-scope';
import { streamCsv } from '../web/csv-stream';
import { isEnrollmentStatus, type EnrollmentStatus } from '../invitations/enrollment-status.repository';
import { chartGeometry, progressText } from '../invitations/enrollment-chart';

export const STATUS_LABELS: Record<EnrollmentStatus, string> = {
  enrolled: 'Enrolled',
  invited: 'Invited',
  not_invited: 'Not invited',
  invitation_expired: 'Invitation expired',
};

/** The console's filter: an unknown value shows everyone, like other garbled list parameters. */
export function statusFilter(value: unknown): EnrollmentStatus | undefined {
  return isEnrollmentStatus(value) ? value : undefined;
}

/** What _enrollment-filter needs: the status shown and the labels. */
export function enrollmentFilterData(status: EnrollmentStatus | undefined) {
  return { status, labels: STATUS_LABELS };
}

/**
 * What _enrollment-progress needs: counts, percent, text, chart and its geometry. One set-based
 * statement over every member (about a quarter of a second at 100 000 members), so the Users tab
 * loads it as its own fragment. Scoped; NotFound for a foreign or out-of-scope resource.
 */
export async function enrollmentProgressData({ enrollmentProgress }: Services, scope: Scope, resourceId: string) {
  const { counts, chart } = await enrollmentProgress.progress(scope, resourceId);
  const percent = counts.assigned === 0 ? 0 : Math.floor((counts.enrolled * 100) / counts.assigned);
  return { counts, percent, text: progressText(counts.enrolled, counts.assigned), chart, geometry: chartGeometry(chart, counts.assigned) };
}

const HEADER = ['login', 'email', 'name', 'status', 'invited at', 'expires at', 'enrolled tokens'];
const iso = (d: Date | null) => (d ? d.toISOString() : '');

export function createEnrollmentController(services: Services) {
  return {
    /**
     * The (filtered) members as CSV, written batch by batch so a large resource streams. The
     * resource is resolved before the first byte, so a foreign id is still a plain 404 page.
     */
    async exportCsv(req: Request, res: Response) {
      const status = statusFilter(req.query.status);
      const batches = await services.enrollmentProgress.exportMembers(req.actor!, req.params.id as string, status);
      await streamCsv(res, `enrolment-${status ?? 'all'}.csv`, HEADER, batches, (m) => [m.login, m.email ?? '', [m.firstName, m.lastName].filter(Boolean).join(' '), m.status, iso(m.invitedAt), iso(m.expiresAt), m.enrolledTokens]);
    },
  };
}
