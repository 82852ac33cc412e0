/**
 * The job contract. Queue and job names are stored in Redis by running systems: never rename one,
 * add a new name instead. Payloads carry ids only, never secrets or codes.
 */
export const QUEUES = ['email', 'provisioning', 'audit'] as const;
export type QueueName = (typeof QUEUES)[number];

/**
 * Jobs of each queue run at once per process, by both transports (a job waiting for a slot counts
 * as waiting, not active).
 * - email: a send waits on the network (SMTP or the SMS gateway) far more than it uses CPU or the
 *   database (two short queries), so a burst of codes (50 users at 9:00) must not queue behind 5 at
 *   a time; the SMTP pool (mail/mailer.ts) bounds the connections, the database pool the queries.
 * - provisioning: imports and invitation batches, each many statements: a few at a time.
 * - audit: webhook attempts wait on other people's servers (up to WEBHOOK_TIMEOUT_MS each), so 5
 *   would let a few slow endpoints hold up every tenant's webhooks and the fan-out behind them;
 *   20 is also the bound on the sockets a burst of events opens (in the web process when there is
 *   no Redis).
 */
export const QUEUE_CONCURRENCY: Record<QueueName, number> = { email: 25, provisioning: 5, audit: 20 };

export const JOBS = {
  /** Deliver one row of `messages`. */
  sendMessage: { queue: 'email', name: 'message.send' },
  /** Insert the hardware tokens of one row of `token_imports`. */
  importTokens: { queue: 'provisioning', name: 'tokens.import' },
  /** Create (or update) the users of one row of `user_imports`. */
  importUsers: { queue: 'provisioning', name: 'users.import' },
  /** Prepare the owed invitation or reminder emails of a batch of `enrollment_invitations` rows. */
  sendInvitations: { queue: 'provisioning', name: 'invitations.send' },
  /** Fan out the audit events not fanned out yet to webhook deliveries and alert emails (issue 13). */
  fanOutAudit: { queue: 'audit', name: 'audit.fan_out' },
  /** One attempt of one row of `webhook_deliveries`. */
  deliverWebhook: { queue: 'audit', name: 'webhooks.deliver' },
  /** Delete every tenant's audit events older than its retention (hourly, from the sweeps). */
  purgeAudit: { queue: 'audit', name: 'audit.retention' },
} as const satisfies Record<string, { queue: QueueName; name: string }>;

export type JobKey = keyof typeof JOBS;

export interface JobPayloads {
  sendMessage: { messageId: string };
  importTokens: { importId: string };
  importUsers: { importId: string };
  /** At most INVITATION_BATCH_SIZE ids. */
  sendInvitations: { invitationIds: string[] };
  /** The oldest event waiting when the job was enqueued (for the job id; the run takes every waiting event). */
  fanOutAudit: { fromEventId: number };
  deliverWebhook: { deliveryId: string };
  /** No payload: the job covers every tenant; its id names the hour. */
  purgeAudit: Record<string, never>;
}
