/** Console: a resource's authentication charts (Activity tab) and the tenant home page (issue 15 §12). */
import type { Request, Response } from 'express';
import type { Services } from '../services';
import { render } from '../web/views';
import { barChart, dayLabel, hourLabel, SERIES } from '../audit/auth-chart';

export function createActivityController({ resources, authStats }: Services) {
  return {
    async resourceActivity(req: Request, res: Response) {
      const resource = await resources.get(req.actor!, req.params.id as string);
      const { hourly, daily } = await authStats.resourceActivity(req.actor!, resource.id);
      const charts = [
        { id: 'hourly', title: 'Last 24 hours, per hour (UTC)', unit: 'Hour', buckets: hourly, chart: barChart(hourly, hourLabel), label: (at: string) => at.slice(0, 16).replace('T', ' ') },
        { id: 'daily', title: 'Last 30 days, per day (UTC)', unit: 'Day', buckets: daily, chart: barChart(daily, dayLabel), label: (at: string) => at.slice(0, 10) },
      ];
      render(req, res, { page: 'admin/resources/show', partial: 'admin/resources/_activity-tab' }, { resource, tab: 'activity', charts, series: SERIES });
    },

    async home(req: Request, res: Response) {
      render(req, res, { page: 'admin/home' }, { overview: await authStats.overview(req.actor!) });
    },
  };
}
