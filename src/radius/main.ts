/**
 * Process: radius (`npm run radius`, Procfile `radius`). The RADIUS connector customers run next
 * to their VPN: Access-Requests in, calls to the validation API out (src/radius/).
 */
import { createLogger } from '../lib/logger';
import { installShutdown } from '../shutdown';
import { ConfigError, loadRadiusConfig } from './config';
import { createRadiusMetrics, startHealthServer } from './metrics';
import { startRadiusServer } from './server';

async function main(): Promise<void> {
  const config = loadRadiusConfig();
  const log = createLogger(config.logLevel);
  const metrics = createRadiusMetrics();
  const radius = await startRadiusServer(config, log, metrics);
  const http = await startHealthServer(metrics, config.httpPort, config.host);
  const udp = radius.socket.address();
  const httpAddress = http.address();
  log.info(
    { radiusPort: udp.port, httpPort: typeof httpAddress === 'object' && httpAddress ? httpAddress.port : config.httpPort, mode: config.mode, clients: config.clients.map((c) => c.name), api: config.apiUrl },
    'radius connector started',
  );
  installShutdown(log, [() => radius.close(), () => new Promise<void>((resolve) => http.close(() => resolve()))]);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
