/**
 * Counts every job attempt (mfa_jobs_total{queue,name,result}) by wrapping the processors, so both
 * transports (BullMQ workers and the in-process queue) are counted the same way.
 */
import { JOBS, type JobKey } from '../jobs/job-names';
import type { Processor, Processors } from '../jobs/queue';
import type { Metrics } from './metrics';

export function instrumentProcessors(processors: Processors, metrics: Metrics): Processors {
  const wrapped = {} as Record<JobKey, Processor<JobKey>>;
  for (const key of Object.keys(processors) as JobKey[]) {
    const run = processors[key] as Processor<JobKey>;
    const labels = { queue: JOBS[key].queue, name: JOBS[key].name };
    wrapped[key] = async (payload, attempt) => {
      try {
        await run(payload, attempt);
        metrics.jobs.inc({ ...labels, result: 'success' });
      } catch (err) {
        metrics.jobs.inc({ ...labels, result: 'failure' });
        throw err;
      }
    };
  }
  return wrapped as Processors;
}
