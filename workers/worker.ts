/** Process: worker (`npm run worker`, Procfile `worker`). Runs BullMQ processors for every queue. */
import { ConfigError, loadConfig } from '../src/config';
import { createServices } from '../src/services';
import { startBullWorkers } from '../src/jobs/bull-transport';
import { installShutdown } from '../src/shutdown';
import { startSweeps } from '../src/jobs/sweeps';
import { startMetricsServer } from '../src/metrics/worker-metrics-server';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.redisUrl) {
    throw new ConfigError('The worker needs REDIS_URL. Without Redis, jobs run inside the web process (npm start).');
  }
  if (!config.databaseUrl) {
    throw new ConfigError('The worker needs DATABASE_URL (the embedded database belongs to a single `npm start`).');
  }
  const services = await createServices(config, { migrate: false });
  const workers = startBullWorkers(config.redisUrl, services.processors, services.log, { prefix: config.queuePrefix });
  const stopSweeps = startSweeps(services);
  const metricsServer = config.workerMetricsPort === undefined
    ? undefined
    : await startMetricsServer(services.metrics, { port: config.workerMetricsPort, host: config.host, token: config.metricsToken });
  if (metricsServer) services.log.info({ port: metricsServer.port }, 'worker metrics at GET /metrics');
  const stopDispatch = services.auditDispatch.start(config.webhooks.dispatchIntervalMs);
  services.log.info('worker started: queues email, provisioning, audit');
  installShutdown(services.log, [stopSweeps, stopDispatch, async () => metricsServer?.close(), () => workers.close(), () => services.close()]);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
