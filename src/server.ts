/** Process: web (`npm start`, Procfile `web`). Serves the console, the portal and the API. */
import type { Server } from 'node:http';
import { ConfigError, loadConfig } from './config';
import { createServices } from './services';
import { createApp } from './app';
import { installShutdown } from './shutdown';
import { startSweeps } from './jobs/sweeps';

async function main(): Promise<void> {
  const config = loadConfig();
  const services = await createServices(config);
  const app = createApp(services);
  const server: Server = app.listen(config.port, config.host, () => {
    services.log.info({ url: config.baseUrl }, `MFA console ready at ${config.baseUrl}/admin`);
    const signup = config.signupEnabled ? `open ${config.baseUrl}/signup, or run` : 'run';
    services.log.info(`First admin: ${signup} npm run cli -- tenant:create --name "Acme" --admin-email you@example.com --admin-password '<a long password>'`);
  });
  // Keep-alive sockets must not hold shutdown open longer than needed.
  server.keepAliveTimeout = 5_000;
  const stopSweeps = startSweeps(services);
  installShutdown(services.log, [
    stopSweeps,
    () => new Promise<void>((resolve) => server.close(() => resolve())),
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
