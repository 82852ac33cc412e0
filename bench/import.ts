/**
 * `npm run bench -- import`: 10 000 hardware tokens from CSV and from a password-protected PSKC
 * file, end to end (whole-file check, sealed upload, the real `tokens.import` processor on the
 * in-process queue, batched inserts with progress) on the machine's PostgreSQL. SPEC §8 target:
 * under 10 s each. Several runs per format; the median and the worst are reported.
 */
import { randomBytes } from 'node:crypto';
import { recreateDatabase } from '../src/db/database-admin';
import { loadConfig } from '../src/config';
import { createServices } from '../src/services';
import { createLogger } from '../src/lib/logger';
import { buildCsv, buildPskc, randomSeeds } from '../test/helpers/token-files';

export interface ImportBenchOptions {
  databaseUrl: string;
  tokens: number;
  runs: number;
  log: (line: string) => void;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function benchImport(options: ImportBenchOptions) {
  await recreateDatabase(options.databaseUrl);
  const config = loadConfig({ NODE_ENV: 'production', DATABASE_URL: options.databaseUrl, BASE_URL: 'http://localhost', SESSION_SECRET: randomBytes(32).toString('base64'), CSRF_SECRET: randomBytes(32).toString('base64'), METRICS_TOKEN: 'bench-metrics-token-not-a-secret', ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}` });
  const services = await createServices(config, { log: createLogger('warn'), migrate: true });
  try {
    const { tenant, admin } = await services.admins.createTenant({ organisation: 'Import bench', email: `bench-${Date.now()}@example.test`, password: 'bench passphrase' });
    const actor = { tenantId: tenant.id, type: 'admin' as const, id: admin.id, role: 'owner' as const };

    async function once(format: 'csv' | 'pskc', run: number): Promise<number> {
      const specs = randomSeeds(options.tokens, `${format.toUpperCase()}${run}-`);
      const content = format === 'csv' ? buildCsv(specs) : buildPskc(specs, { password: 'vendor secret' });
      const started = performance.now();
      const created = await services.tokenImports.startImport(actor, { format, filename: `tokens.${format}`, content: Buffer.from(content), password: format === 'pskc' ? 'vendor secret' : undefined });
      for (;;) {
        const row = await services.db('token_imports').where({ id: created.id }).first();
        if (row.status === 'failed') throw new Error(`import failed: ${row.error}`);
        if (row.status === 'done') {
          if (row.processed !== options.tokens) throw new Error(`imported ${row.processed} of ${options.tokens}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const ms = performance.now() - started;
      options.log(`${format}: ${options.tokens} tokens in ${Math.round(ms)} ms`);
      return ms;
    }

    const result: Record<string, unknown> = { tokens: options.tokens, runs: options.runs, target_s: 10 };
    for (const format of ['csv', 'pskc'] as const) {
      const times: number[] = [];
      for (let run = 1; run <= options.runs; run++) times.push(await once(format, run));
      result[`${format}_median_s`] = Number((median(times) / 1000).toFixed(2));
      result[`${format}_worst_s`] = Number((Math.max(...times) / 1000).toFixed(2));
    }
    result.pskc_protection = 'PBKDF2-HMAC-SHA1 + AES-128-CBC + HMAC-SHA1 MAC';
    return result;
  } finally {
    await services.close();
  }
}
