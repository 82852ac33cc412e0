/** Process: web (`npm start`, Procfile `web`). Serves the console, the portal and the API. */
import type { Server } from 'node:http';
import { ConfigError, loadConfig } from './config';
import { createServices } from './services';
import { createApp } from './app';
import { installShutdown } from './shutdown';
import { startSweeps } from './jobs/sweeps';
import { trackForDrain } from './web/drain';

/** Answers still running this long after SIGTERM are cut, so the process exits well inside 10 s. */
const DRAIN_TIMEOUT_MS = 5_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const services = await createServices(config);
  const app = createApp(services);
  const server: Server = app.listen(config.port, config.host, () => {
    services.log.info({ url: config.baseUrl }, `MFA console ready at ${config.baseUrl}/admin`);
    const signup = config.signupEnabled ? `open ${config.baseUrl}/signup, or run` : 'run';
    services.log.info(`First admin: ${signup} npm run cli -- tenant:create --name "Acme" --admin-email you@example.com --admin-password '<a long password>'`);
  });
  server.keepAliveTimeout = 5_000;
  // Keep-alive clients must not hold shutdown open: see web/drain.ts.
  const http = trackForDrain(server);
  const stopSweeps = startSweeps(services);
  // Without Redis the processors run here, so the audit dispatcher does too (with Redis: the worker).
  const stopDispatch = services.queue.mode === 'in-process' ? services.auditDispatch.start(config.webhooks.dispatchIntervalMs) : async () => undefined;
  installShutdown(services.log, [
    stopSweeps,
    stopDispatch,
    async () => {
      const cut = await http.drain(DRAIN_TIMEOUT_MS);
      if (cut) services.log.warn({ cut }, 'connections still answering at the drain deadline were closed');
    },
    () => services.close(),
  ]);
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error('Failed to start:', err);
  }
  process.exit(1);
});
