/**
 * Builds the real services and app for a test file: real PostgreSQL, and, when asked, real Redis
 * and an SMTP URL. Each test creates its own tenant (see factories), so files run in parallel.
 */
import { loadConfig, type Config } from '../../src/config';
import { createServices, type ServiceOptions, type Services } from '../../src/services';
import { createApp } from '../../src/app';
import { createLogger } from '../../src/lib/logger';
import { testDatabaseUrl } from './env';
import type { Express } from 'express';

export interface TestContext {
  services: Services;
  app: Express;
  config: Config;
  close(): Promise<void>;
}

export async function createTestContext(env: Record<string, string | undefined> = {}, options: Omit<ServiceOptions, 'log' | 'migrate'> = {}): Promise<TestContext> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: testDatabaseUrl(),
    DATABASE_POOL_MAX: '5',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    BASE_URL: 'http://localhost:3000',
    // Every test signs in from 127.0.0.1: the console's per-IP limit would count the whole suite.
    // The limit's own tests set it low and sign in from addresses of their own.
    CONSOLE_SIGN_IN_PER_IP: '1000000',
    ...env,
  });
  const services = await createServices(config, { ...options, log: createLogger(config.logLevel), migrate: false });
  const app = createApp(services);
  return { services, app, config, close: () => services.close() };
}
