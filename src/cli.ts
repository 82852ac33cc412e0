/**
 * Operator CLI (`npm run cli -- <command>`). The last line of stdout is a JSON object, so scripts
 * can read it with `tail -n 1`.
 *   tenant:create --name NAME --admin-email EMAIL --admin-password PASSWORD
 *   migrate
 *   keys:rotate [--batch-size N]   re-seal every secret under ENCRYPTION_KEY_ID (online, idempotent)
 *   tenant:disable --id TENANT_ID  / tenant:enable --id TENANT_ID   (audited, idempotent)
 *   tenant:audit-retention --id TENANT_ID [--days N]   show or set how long audit events are kept (audited)
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config';
import { createServices } from './services';
import { createLogger } from './lib/logger';
import { DomainError, ValidationError } from './lib/errors';
import { createKeyRotationService } from './tokens/key-rotation.service';
import { createTenantService } from './tenants/tenant.service';
import { systemActor } from './audit/actor';

const USAGE = `Usage:
  npm run cli -- tenant:create --name NAME --admin-email EMAIL --admin-password PASSWORD
  npm run cli -- migrate
  npm run cli -- keys:rotate [--batch-size N]
  npm run cli -- tenant:disable --id TENANT_ID
  npm run cli -- tenant:enable --id TENANT_ID
  npm run cli -- tenant:audit-retention --id TENANT_ID [--days N]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  // Logs go to stderr so stdout stays machine-readable.
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  if (command === 'tenant:create') {
    const { values } = parseArgs({ args: rest, options: { name: { type: 'string' }, 'admin-email': { type: 'string' }, 'admin-password': { type: 'string' } } });
    if (!values.name || !values['admin-email'] || !values['admin-password']) {
      console.error(USAGE);
      return 2;
    }
    const services = await createServices(config, { log, migrate: true });
    try {
      const { tenant, admin, apiKey } = await services.admins.createTenant(
        { organisation: values.name, email: values['admin-email'], password: values['admin-password'] },
        { withApiKey: true },
      );
      console.log(`Created tenant "${tenant.name}" with owner ${admin.email}. Sign in at ${config.baseUrl}/admin/sign-in to set up TOTP.`);
      console.log('The API key below is shown once; store it now.');
      console.log(JSON.stringify({ tenantId: tenant.id, adminId: admin.id, apiKey }));
      return 0;
    } finally {
      await services.close();
    }
  }
  if (command === 'migrate') {
    const services = await createServices(config, { log, migrate: true });
    await services.close();
    console.log(JSON.stringify({ migrated: true }));
    return 0;
  }
  if (command === 'keys:rotate') {
    const { values } = parseArgs({ args: rest, options: { 'batch-size': { type: 'string' } } });
    const batchSize = values['batch-size'] === undefined ? 500 : Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      console.error(`--batch-size must be a whole number from 1 to 10000.\n${USAGE}`);
      return 2;
    }
    const services = await createServices(config, { log, migrate: false });
    try {
      const rotation = createKeyRotationService(services.db, services.secrets);
      console.error(`Re-sealing secrets under key "${services.secrets.activeKeyId}" (keys known: ${[...config.encryption.keys.keys()].join(', ')})`);
      const summary = await rotation.rotateAll({ batchSize, onProgress: (p) => console.error(`  ${p.name}: ${p.done}/${p.total} checked`) });
      const unreadable = Object.entries(summary.unreadable).filter(([, n]) => n > 0);
      if (unreadable.length) {
        console.error(`Could not open ${unreadable.map(([name, n]) => `${n} ${name}`).join(', ')}: sealed under a key missing from ENCRYPTION_KEYS. Add that key and run again.`);
      }
      console.log(JSON.stringify(summary));
      return unreadable.length ? 1 : 0;
    } finally {
      await services.close();
    }
  }
  if (command === 'tenant:disable' || command === 'tenant:enable') {
    const { values } = parseArgs({ args: rest, options: { id: { type: 'string' } } });
    if (!values.id) {
      console.error(USAGE);
      return 2;
    }
    const disable = command === 'tenant:disable';
    const services = await createServices(config, { log, migrate: false });
    try {
      const tenant = await createTenantService(services.db).setDisabled(values.id, disable);
      const state = disable ? 'disabled' : 'enabled';
      console.log(tenant.changed ? `Tenant "${tenant.name}" is now ${state}.` : `Tenant "${tenant.name}" was already ${state}.`);
      console.log(JSON.stringify({ tenantId: tenant.id, disabled: disable, changed: tenant.changed }));
      return 0;
    } finally {
      await services.close();
    }
  }
  if (command === 'tenant:audit-retention') {
    const { values } = parseArgs({ args: rest, options: { id: { type: 'string' }, days: { type: 'string' } } });
    if (!values.id) {
      console.error(USAGE);
      return 2;
    }
    const services = await createServices(config, { log, migrate: false });
    try {
      const retention = services.auditRetention;
      if (values.days === undefined) {
        const days = await retention.retentionDays(values.id);
        console.log(`Audit events of this tenant are kept ${days} days.`);
        console.log(JSON.stringify({ tenantId: values.id, days }));
        return 0;
      }
      await retention.retentionDays(values.id);
      const { days, changed } = await retention.setRetentionDays(systemActor(values.id, 'cli'), values.days);
      console.log(changed ? `Audit events are now kept ${days} days; older ones are deleted within the hour.` : `Audit events were already kept ${days} days.`);
      console.log(JSON.stringify({ tenantId: values.id, days, changed }));
      return 0;
    } finally {
      await services.close();
    }
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    // Unknown or malformed options (node:util parseArgs) are a usage mistake, not a crash.
    if (String((err as { code?: string })?.code).startsWith('ERR_PARSE_ARGS')) {
      console.error(`${(err as Error).message}\n${USAGE}`);
      process.exit(2);
    }
    if (err instanceof ValidationError) console.error(`Invalid input: ${Object.entries(err.fields).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
    else if (err instanceof DomainError || err instanceof ConfigError) console.error(err.message);
    else console.error(err);
    process.exit(1);
  },
);
