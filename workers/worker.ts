/** Process: worker (`npm run worker`, Procfile `worker`). Runs BullMQ processors for every queue. */
import { ConfigError, loadConfig } from '../src/config';
import { createServices } from '../src/services';
import { startBullWorkers } from '../src/jobs/bull-transport';
import { installShutdown } from '../src/shutdown';

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
  // Re-enqueues messages whose job was lost (Redis down at enqueue time); harmless when none were.
  const sweep = setInterval(() => services.messages.sweep().catch((err) => services.log.warn({ err: (err as Error).message }, 'message sweep failed')), 60_000);
  sweep.unref();
  services.log.info('worker started: queues email, provisioning, audit');
  installShutdown(services.log, [async () => clearInterval(sweep), () => workers.close(), () => services.close()]);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
