/**
 * Composition root: builds the database, queue, mailer and domain services from a Config.
 * The web process, the worker process, the CLI and the tests all start here.
 */
import type { Config } from './config';
import { createDb, migrate, settlePool, type Db } from './db/knex';
import type { EmbeddedDatabase } from './db/embedded';
import { checkEncryptionKeys } from './db/encryption-key-check';
import { isDatabaseUnavailable } from './db/errors';
import type { JobQueue, Processors } from './jobs/queue';
import { createBullQueue, createRedis } from './jobs/bull-transport';
import { createInProcessQueue } from './jobs/in-process-transport';
import { createSendMessageProcessor } from './jobs/processors/send-message.processor';
import { createImportTokensProcessor } from './jobs/processors/import-tokens.processor';
import { createTokenImportService, type TokenImportService } from './tokens/import/import.service';
import { createImportUsersProcessor } from './jobs/processors/import-users.processor';
import { createUserImportService, type UserImportService } from './users/import/user-import.service';
import { createSendInvitationsProcessor } from './jobs/processors/send-invitations.processor';
import { createInvitationService, type InvitationService } from './invitations/invitation.service';
import { createLogger, type Logger } from './lib/logger';
import { createSecretBox, type SecretBox } from './lib/secret-box';
import { createMailer, type Mailer } from './mail/mailer';
import { createMessageService, type MessageService } from './outbox/message.service';
import { createAdminService, type AdminService } from './admins/admin.service';
import { createAdminSignInService, DEFAULT_CONSOLE_SIGN_IN_POLICY, type AdminSignInService } from './admins/admin-sign-in.service';
import { createApiKeyService, type ApiKeyService } from './api-keys/api-key.service';
import { createResourceService, type ResourceService } from './resources/resource.service';
import { createSelfServiceService, type SelfServiceService } from './selfservice/self-service.service';
import { createUserService, type UserService } from './users/user.service';
import { createAuditService, type AuditService } from './audit/audit.service';
import { createAuthStatsService, type AuthStatsService } from './audit/auth-stats.service';
import { createTokenService, type TokenService } from './tokens/token.service';
import { createAuthenticateService, type AuthenticateService } from './validation/authenticate.service';
import { createLockNotices } from './validation/lock-notices';
import { OATH_CHECKS, type CodeChecks } from './validation/code-checks';
import { createBackupCodeCheck, notifyBackupCodeUse } from './validation/backup-code.check';
import { createChallengeCodes, type ChallengeCodes } from './validation/challenge-codes';
import { createChallengeCheck } from './validation/challenge.check';
import { createChallengeService, type ChallengeService } from './validation/challenge.service';
import { createSmsWebhook } from './mail/sms-webhook';
import type { Redis } from 'ioredis';
import { createRateLimiter, type RateLimiter } from './rate-limits/rate-limiter';
import { createPortalSignInService, type PortalSignInService } from './portal-sign-in/sign-in.service';
import { createEnrollmentProgressService, type EnrollmentProgressService } from './invitations/enrollment-progress.service';
import { createMetrics, type Metrics } from './metrics/metrics';
import { instrumentProcessors } from './metrics/instrument-processors';
import { createWebhookService, type WebhookService } from './webhooks/webhook.service';
import { createWebhookDeliverer, type DelivererOptions } from './webhooks/webhook-deliverer';
import { createAuditFanOut } from './audit/audit-fan-out';
import { createAuditDispatch, type AuditDispatch } from './jobs/audit-dispatch';
import { createFanOutAuditProcessor } from './jobs/processors/fan-out-audit.processor';
import { createDeliverWebhookProcessor } from './jobs/processors/deliver-webhook.processor';
import { createAlertService, type AlertService } from './alerts/alert.service';

import { createAuditRetentionService, type AuditRetentionService } from './audit/audit-retention.service';
import { createPurgeAuditProcessor } from './jobs/processors/purge-audit.processor';

export interface Services {
  config: Config;
  log: Logger;
  db: Db;
  redis?: Redis;
  queue: JobQueue;
  mailer: Mailer;
  secrets: SecretBox;
  processors: Processors;
  messages: MessageService;
  admins: AdminService;
  /** Console sign-in steps with their shared limits and lock. */
  adminSignIn: AdminSignInService;
  apiKeys: ApiKeyService;
  resources: ResourceService;
  /** Per-resource Self-Service Portal configuration and portal resolution by address. */
  selfService: SelfServiceService;
  users: UserService;
  audit: AuditService;
  /** Per-tenant audit retention and its hourly batched purge (issue 14). */
  auditRetention: AuditRetentionService;

  /** Authentication results from the audit log: per-resource charts and the console home (issue 15 §12). */
  authStats: AuthStatsService;
  tokens: TokenService;
  validation: AuthenticateService;
  /** Email/SMS codes on demand (POST /resources/{id}/challenge). */
  challenges: ChallengeService;
  tokenImports: TokenImportService;
  /** User CSV imports (console and API), processed by the `users.import` job. */
  userImports: UserImportService;
  /** Enrolment invitations and their reminders (issue 12 §3), emailed by the `invitations.send` job. */
  invitations: InvitationService;
  /** End-user sign-in at a resource's portal (SPEC §5.2). */
  portalSignIn: PortalSignInService;
  /** Enrolment progress of a resource (issue 12 §4): counts, members by state, chart, export. */
  enrollmentProgress: EnrollmentProgressService;
  /** Shared rate limits (PostgreSQL), for every surface. */
  limiter: RateLimiter;
  /** HMAC keys for the 6-digit codes sent by email or SMS. */
  challengeCodes: ChallengeCodes;
  /** This process's Prometheus metrics (src/metrics/metrics.ts). */
  metrics: Metrics;
  /** Tenant webhook endpoints and their deliveries (issue 13 §1). */
  webhooks: WebhookService;
  /** Fan-out of audit events to webhooks and alert emails; `start` it where processors run. */
  auditDispatch: AuditDispatch;
  /** Admin alert email subscriptions (issue 13 §2). */
  alerts: AlertService;
  /** Closes everything this root opened, in dependency order. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  log?: Logger;
  /** Apply pending migrations before returning (web start and tests do; the worker does not need to). */
  migrate?: boolean;
  /** Webhook delivery hooks: `onDeliveryResult` (metrics) and the clock of the 5-day disable rule. */
  webhooks?: DelivererOptions;
}

export async function createServices(config: Config, options: ServiceOptions = {}): Promise<Services> {
  const log = options.log ?? createLogger(config.logLevel);
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    // Loaded only when used: the package installs process signal handlers on import.
    const { startEmbeddedPostgres } = await import('./db/embedded');
    embedded = await startEmbeddedPostgres(config.embeddedPg.dir, config.embeddedPg.port, log);
    databaseUrl = embedded.url;
    log.info('using the embedded PostgreSQL (set DATABASE_URL to use your own server)');
  }
  const db = createDb(databaseUrl, config.databasePoolMax, log);
  if (options.migrate ?? config.runMigrations) {
    const applied = await migrate(db);
    if (applied.length) log.info({ applied }, 'migrations applied');
  }
  // A wrong key must stop every process here, not answer 500 to each check later. A database that
  // cannot be reached at start is no reason to refuse: requests answer 503 until it is back and
  // /readyz tells operators (the check runs again at the next start).
  try {
    if (!(await checkEncryptionKeys(db, config.encryption.keys))) log.warn('encryption keys not checked: migrations pending');
  } catch (err) {
    if (isDatabaseUnavailable(err)) {
      log.warn({ err: (err as Error).message }, 'encryption keys not checked: the database cannot be reached');
    } else {
      await db.destroy();
      await embedded?.stop();
      throw err;
    }
  }

  const redis = config.redisUrl ? createRedis(config.redisUrl, log) : undefined;
  const queue = redis ? createBullQueue(redis, { prefix: config.queuePrefix }) : createInProcessQueue(log);
  if (!redis) log.info('no REDIS_URL: background jobs run inside this process');
  const sms = config.smsWebhook ? createSmsWebhook(config.smsWebhook) : undefined;
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, log, sms });
  if (!config.smtpUrl) log.info('no SMTP_URL: emails are captured in the console Outbox');
  if (!sms) log.info('no SMS_WEBHOOK_URL: SMS are captured in the console Outbox');
  const secrets = createSecretBox(config.encryption.keys, config.encryption.activeKeyId);

  const messages = createMessageService(db, queue, log);
  const selfService = createSelfServiceService(db, config);
  const metrics = createMetrics(queue);
  const webhookDeliverer = createWebhookDeliverer(db, secrets, messages, config.webhooks, log, {
    ...options.webhooks,
    onDeliveryResult: (result) => {
      metrics.webhookDeliveries.inc({ result });
      options.webhooks?.onDeliveryResult?.(result);
    },
  });
  const auditDispatch = createAuditDispatch(queue, createAuditFanOut(db, messages, { now: options.webhooks?.now }), webhookDeliverer, log);
  const auditRetention = createAuditRetentionService(db, queue, log);
  const processors: Processors = instrumentProcessors({
    fanOutAudit: createFanOutAuditProcessor(auditDispatch),
    deliverWebhook: createDeliverWebhookProcessor(webhookDeliverer),
    sendMessage: createSendMessageProcessor(db, mailer, log, metrics),
    importTokens: createImportTokensProcessor(db, secrets, log),
    importUsers: createImportUsersProcessor(db, secrets, log),
    sendInvitations: createSendInvitationsProcessor(db, messages, (address) => selfService.urls(address).url, log),
    purgeAudit: createPurgeAuditProcessor(auditRetention),
  }, metrics);
  queue.attachProcessors(processors);

  // How each token type proves a typed code; webauthn has no typed code.
  const challengeCodes = createChallengeCodes(config.encryption.keys, config.encryption.activeKeyId);
  const challengeCheck = createChallengeCheck(challengeCodes);
  const codeChecks: CodeChecks = { ...OATH_CHECKS, email: challengeCheck, sms: challengeCheck, backup_codes: createBackupCodeCheck(notifyBackupCodeUse(db, messages, log)) };

  const lockNotices = createLockNotices(db, messages);
  const validation = createAuthenticateService(db, secrets, codeChecks, lockNotices.tell);
  const challenges = createChallengeService(db, messages, challengeCodes);
  const limiter = createRateLimiter(db);

  return {
    config,
    log,
    db,
    redis,
    queue,
    mailer,
    secrets,
    processors,
    messages,
    admins: createAdminService(db, messages, config.baseUrl),
    adminSignIn: createAdminSignInService(db, { secrets, messages, limiter, log }, {
      ...DEFAULT_CONSOLE_SIGN_IN_POLICY,
      perIp: { ...DEFAULT_CONSOLE_SIGN_IN_POLICY.perIp, max: config.consoleSignInPerIp },
    }),
    apiKeys: createApiKeyService(db),
    resources: createResourceService(db),
    selfService,
    users: createUserService(db),
    audit: createAuditService(db),
    auditRetention,

    authStats: createAuthStatsService(db),
    tokens: createTokenService(db, secrets, codeChecks, limiter),
    validation,
    challenges,
    limiter,
    challengeCodes,
    metrics,
    portalSignIn: createPortalSignInService(db, { messages, codes: challengeCodes, validation, challenges, limiter, lockNotices }),
    tokenImports: createTokenImportService(db, queue, secrets),
    userImports: createUserImportService(db, queue, secrets),
    enrollmentProgress: createEnrollmentProgressService(db),
    invitations: createInvitationService(db, queue, log),
    webhooks: createWebhookService(db, secrets, config.webhooks, {
      // A redelivery starts at once rather than at the next dispatcher tick.
      afterRedeliver: (id) => void auditDispatch.enqueueDeliveries([{ id, attempts: 0 }]).catch(() => undefined),
    }),
    auditDispatch,
    alerts: createAlertService(db),
    async close() {
      // In-flight jobs first (in-process ones still use the database and the mailer).
      await queue.close();
      mailer.close();
      // quit() lets pending replies arrive; disconnect() if Redis is already gone.
      if (redis) await redis.quit().catch(() => redis.disconnect());
      await settlePool(db, 5_000);
      await db.destroy();
      await embedded?.stop();
    },
  };
}
