/**
 * The SQL of authenticate attempts (SPEC §3), written for batches: each function takes the
 * attempts of many concurrent requests and runs ONE statement for all of them (see
 * src/lib/batcher.ts and docs/performance.md: every statement that writes is a commit and a round
 * trip, and this is the hottest path of the service). Rows are matched per item, so a batch
 * means exactly what the same statements run one by one would; the batcher never puts two
 * attempts of the same member (begin) or user (finish) in one batch, since a statement must not
 * change a row twice. Every row is scoped by its tenant id.
 *
 * The failure limit (SEC-07, CVE-2024-4629: concurrent wrong codes must not buy extra guesses)
 * holds in one of two ways, chosen per attempt by `beginAttempts`:
 * - gated (the user's tokens in the resource are all OATH and an otp was sent: the common case):
 *   `beginAttempts` only reads; the code is matched in Node (pure); `finishAttempts` then locks
 *   the member row, re-checks the limit and the lock, and records the outcome (the claim of the
 *   step or counter, the counter reset, or the count and the lock at the limit) in the same
 *   statement. An attempt over the limit changes nothing and is answered like a wrong code, so a
 *   guess can only succeed inside the limit, and the read costs no commit.
 * - reserved (other token types, whose checks consume a code in their own statements, or no
 *   otp): `beginAttempts` reserves the attempt with the rule of lockout.reserveAttempt (an atomic
 *   UPDATE refused at the limit) before anything is checked; `finishAttempts` records the outcome.
 * Each outcome is written together with its audit event (SEC-23). OATH claims are compare-and-set:
 * of concurrent identical codes exactly one wins (SEC-05).
 */
import { runPrepared, type Db } from '../db/knex';
import type { Actor } from '../audit/actor';
import type { Resource } from '../resources/resource.types';
import { TOKEN_CHECK_COLUMNS, toCheckRow } from '../tokens/token.repository';
import type { TokenCheckRow } from '../tokens/token.types';
import { noticeDueSql } from './lockout.repository';

export interface AttemptKey {
  tenantId: string;
  resourceId: string;
  login: string;
  /** Whether an otp was sent (an attempt without one is never gated). */
  hasOtp: boolean;
  /** Whether a password was sent: only then is the user's password hash read. */
  hasPassword: boolean;
}

export interface AttemptMember {
  id: string;
  /** Null when the user has none, and when the key sent no password. */
  passwordHash: string | null;
  blocked: boolean;
}

export interface Attempt {
  /** Undefined when the resource is not the tenant's. */
  resource?: Pick<Resource, 'id' | 'failedAttemptsLimit' | 'lockMinutes' | 'pinPosition' | 'requireSecondFactor' | 'totpWindow'>;
  /** Undefined when no user with this login is assigned to the resource. */
  member?: AttemptMember;
  /** Gated: nothing was written; `finishAttempts` must be told `gated` (see the module comment). */
  gated: boolean;
  /** The member may try now: reserved (an attempt was counted), or gated and under the limit when read. */
  mayTry: boolean;
  /** The member's enabled tokens in the resource, oldest first; empty unless mayTry. */
  tokens: TokenCheckRow[];
}

// Both statements reach a member's rows through one index each, so a check keeps few pages warm
// in the buffer pool whatever the tenant's size (issue 14, docs/performance.md):
// - the user, index-only from the login index (migration 20261207000020), which holds the id and
//   blocked_at; the table is visited only for a password hash, and only when a password was sent;
// - the member row: OFFSET 0 keeps the begin statement's lookup a probe of its own, planned like
//   the finish statement's; folded into the join, it probed (user, tenant) where the finish
//   statement probes the primary key, and both indexes stayed warm;
// - the token, claimed through its owner (tokens_user_idx, as the begin statement reads it), not
//   its primary key, whose pages span every token of the tenant, hardware stock included: the
//   id is compared with `IS NOT DISTINCT FROM`, which no index serves, so it stays a filter.
//
// Both statements read their batch with LIMIT $n (the batch size): without it the planner assumes
// 100 rows from jsonb_to_recordset, and on small tables then prefers to hash-join whole tables
// (a sequential scan of resource_users per batch) over a few primary-key lookups.
export const BEGIN_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(idx int, tenant_id uuid, resource_id uuid, login text, has_otp boolean, has_password boolean) LIMIT $3
), res AS (
  SELECT i.idx, r.id, r.failed_attempts_limit, r.lock_minutes, r.pin_position, r.require_second_factor, r.totp_window
    FROM input i JOIN LATERAL (SELECT * FROM resources r WHERE r.tenant_id = i.tenant_id AND r.id = i.resource_id AND r.disabled_at IS NULL) r ON true
), member AS (
  SELECT res.idx, i.tenant_id, res.id AS resource_id, res.failed_attempts_limit, i.has_otp, u.id AS user_id, u.blocked_at,
         CASE WHEN i.has_password THEN (SELECT p.password_hash FROM users p WHERE p.id = u.id AND p.tenant_id = i.tenant_id) END AS password_hash,
         (ru.locked_until IS NULL AND ru.fail_count < res.failed_attempts_limit) OR ru.locked_until <= now() AS may_try
    FROM res JOIN input i ON i.idx = res.idx
    JOIN LATERAL (SELECT u.id, u.blocked_at FROM users u WHERE u.tenant_id = i.tenant_id AND lower(u.login) = lower(i.login)) u ON true
    JOIN LATERAL (SELECT * FROM resource_users ru WHERE ru.resource_id = res.id AND ru.user_id = u.id AND ru.tenant_id = i.tenant_id OFFSET 0) ru ON true
), member_tokens AS (
  -- Read once: the gate below counts them, tok returns them (each token's assignment probed once).
  SELECT member.idx AS t_idx, t.*
    FROM member
    JOIN LATERAL (SELECT * FROM tokens t WHERE t.tenant_id = member.tenant_id AND t.user_id = member.user_id AND t.enabled) t ON true
   WHERE EXISTS (SELECT 1 FROM token_resources tr WHERE tr.token_id = t.id AND tr.resource_id = member.resource_id)
), mem AS (
  SELECT member.*,
         -- gated: an otp was sent, and the user has tokens in the resource, all of gated types
         member.has_otp AND tk.n > 0 AND tk.n = tk.gated_n AS gated
    FROM member
    CROSS JOIN LATERAL (SELECT count(*) AS n, count(*) FILTER (WHERE mt.type = ANY ($2::text[])) AS gated_n
                          FROM member_tokens mt WHERE mt.t_idx = member.idx) tk
), reserve AS (
  UPDATE resource_users ru SET
         fail_count = CASE WHEN ru.locked_until IS NOT NULL THEN 1 ELSE ru.fail_count + 1 END,
         locked_until = NULL
    FROM mem
   WHERE ru.resource_id = mem.resource_id AND ru.user_id = mem.user_id AND ru.tenant_id = mem.tenant_id
     AND mem.blocked_at IS NULL AND NOT mem.gated
     AND ((ru.locked_until IS NULL AND ru.fail_count < mem.failed_attempts_limit) OR ru.locked_until <= now())
  RETURNING mem.idx
), tok AS (
  SELECT mt.t_idx, mt.created_at AS t_created_at, ${TOKEN_CHECK_COLUMNS.map((c) => `mt.${c}`).join(', ')}
    FROM mem JOIN member_tokens mt ON mt.t_idx = mem.idx
   WHERE mem.blocked_at IS NULL AND ((mem.gated AND mem.may_try) OR mem.idx IN (SELECT idx FROM reserve))
)
SELECT input.idx AS q_idx, res.id AS r_id, res.failed_attempts_limit AS r_limit, res.lock_minutes AS r_lock_minutes,
       res.pin_position AS r_pin_position, res.require_second_factor AS r_require_second_factor, res.totp_window AS r_totp_window,
       mem.user_id AS m_id, mem.password_hash AS m_password_hash, mem.blocked_at AS m_blocked_at, mem.gated AS m_gated,
       CASE WHEN mem.gated THEN mem.may_try ELSE reserve.idx IS NOT NULL END AS m_may_try,
       ${TOKEN_CHECK_COLUMNS.map((c) => `tok.${c}`).join(', ')}
  FROM input
  LEFT JOIN res ON res.idx = input.idx
  LEFT JOIN mem ON mem.idx = input.idx
  LEFT JOIN reserve ON reserve.idx = input.idx
  LEFT JOIN tok ON tok.t_idx = input.idx
 ORDER BY input.idx, tok.t_created_at, tok.id`;

/**
 * Reads resource and member, reserves the attempt unless it can be gated, and loads the tokens,
 * for each key: one statement. `gatedTypes` are the token types whose check is a pure match
 * followed by a claim `finishAttempts` can make (the OATH types).
 */
export async function beginAttempts(db: Db, keys: AttemptKey[], gatedTypes: readonly string[]): Promise<Attempt[]> {
  const input = keys.map((k, idx) => ({ idx, tenant_id: k.tenantId, resource_id: k.resourceId, login: k.login, has_otp: k.hasOtp, has_password: k.hasPassword }));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rows = await runPrepared<any>(db, 'attempts-begin', BEGIN_SQL, [JSON.stringify(input), gatedTypes, input.length]);
  const attempts: Attempt[] = keys.map(() => ({ gated: false, mayTry: false, tokens: [] }));
  for (const row of rows) {
    const attempt = attempts[row.q_idx];
    if (!row.r_id) continue;
    attempt.resource ??= {
      id: row.r_id,
      failedAttemptsLimit: row.r_limit,
      lockMinutes: row.r_lock_minutes,
      pinPosition: row.r_pin_position,
      requireSecondFactor: row.r_require_second_factor,
      totpWindow: row.r_totp_window,
    };
    if (!row.m_id) continue;
    attempt.member ??= { id: row.m_id, passwordHash: row.m_password_hash, blocked: row.m_blocked_at !== null };
    attempt.gated = row.m_gated;
    attempt.mayTry = row.m_may_try;
    if (row.id) attempt.tokens.push(toCheckRow(row));
  }
  return attempts;
}

/** A token's use to record with a success: the compare-and-set of the OATH checks. */
export type OathClaim = { kind: 'totp'; step: number; drift: number } | { kind: 'hotp'; counter: number };

export interface AttemptScope {
  tenantId: string;
  resourceId: string;
  /** Undefined for a refusal of an unknown user. */
  userId?: string;
}

/**
 * How an attempt ends. `claim`: an OATH code matched; the step or counter is claimed and, only if
 * this request won it, the success is recorded. `success`: proven otherwise (a check that
 * recorded its own use, or a password alone). `failure`: a counted failure (reaching the limit
 * starts the lock, lockMinutes 0 until an admin unlocks; with `countTokens` the user's tokens in
 * the resource count a failure). `refusal`: nothing counted. For a gated attempt, `limit`,
 * `lockMinutes` and `countTokens` apply to claims too: a claim lost to a concurrent request is a
 * counted wrong code, and an attempt over the limit is refused as locked.
 */
export type AttemptOutcome =
  | { kind: 'claim'; tokenId: string; claim: OathClaim }
  | { kind: 'success' }
  | { kind: 'failure' }
  | { kind: 'refusal' };

export interface AttemptPolicy {
  gated: boolean;
  limit: number;
  lockMinutes: number;
  countTokens: boolean;
}

export interface AttemptEnd {
  scope: AttemptScope;
  outcome: AttemptOutcome;
  policy?: AttemptPolicy;
  actor: Actor;
  /**
   * What the `authenticate` audit event records: the login, the reason unless the attempt
   * succeeds (reason "ok", with the token when one proved it) or, gated, is over the limit
   * (reason "locked").
   */
  audit: AttemptAudit;
}

export interface AttemptAudit {
  login: string;
  reason: string;
  token?: { serial: string; type: string };
}

/** ok: succeeded. done: recorded as a failure or refusal. lost: a reserved attempt's claim lost to another request (nothing written). */
export type AttemptStatus = 'ok' | 'done' | 'lost';

export const FINISH_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(
    idx int, kind text, gated boolean, tenant_id uuid, resource_id uuid, user_id uuid, token_id uuid, counter bigint, step bigint, drift int,
    lim int, lock_minutes int, count_tokens boolean,
    actor_type text, actor_id uuid, actor_label text, ip text, user_agent text, login text, reason text, token_serial text, token_type text) LIMIT $2
), gate AS (
  -- Gated attempts under the limit, with the member row locked until commit: a concurrent attempt
  -- of the same member waits here and then sees this one's count (SEC-07).
  SELECT i.idx FROM input i
    JOIN resource_users ru ON ru.resource_id = i.resource_id AND ru.user_id = i.user_id AND ru.tenant_id = i.tenant_id
   WHERE i.gated AND ((ru.locked_until IS NULL AND ru.fail_count < i.lim) OR ru.locked_until <= now())
     FOR UPDATE OF ru
), claim_hotp AS (
  UPDATE tokens t SET hotp_counter = i.counter + 1, last_used_at = now(), fail_count = 0
    FROM input i
   WHERE i.kind = 'hotp' AND (NOT i.gated OR i.idx IN (SELECT idx FROM gate))
     AND t.user_id = i.user_id AND t.id IS NOT DISTINCT FROM i.token_id AND t.tenant_id = i.tenant_id AND t.enabled AND t.hotp_counter <= i.counter
  RETURNING i.idx
), claim_totp AS (
  UPDATE tokens t SET totp_last_step = i.step, drift = i.drift, last_used_at = now(), fail_count = 0
    FROM input i
   WHERE i.kind = 'totp' AND (NOT i.gated OR i.idx IN (SELECT idx FROM gate))
     AND t.user_id = i.user_id AND t.id IS NOT DISTINCT FROM i.token_id AND t.tenant_id = i.tenant_id AND t.enabled AND (t.totp_last_step IS NULL OR t.totp_last_step < i.step)
  RETURNING i.idx
), ok AS (
  SELECT idx FROM claim_hotp UNION ALL SELECT idx FROM claim_totp
  UNION ALL SELECT idx FROM input WHERE kind = 'success' AND (NOT gated OR idx IN (SELECT idx FROM gate))
), outcome AS (
  SELECT i.*, i.idx IN (SELECT idx FROM ok) AS is_ok,
         i.idx IN (SELECT idx FROM gate) AND i.idx NOT IN (SELECT idx FROM ok) AS is_counted,
         i.gated AND i.idx NOT IN (SELECT idx FROM gate) AS is_locked,
         CASE WHEN i.idx IN (SELECT idx FROM ok) THEN 'ok' WHEN i.kind IN ('hotp', 'totp') AND NOT i.gated THEN 'lost' ELSE 'done' END AS status
    FROM input i
), member AS (
  -- A success resets (a member with nothing to reset is left unwritten); a gated failure counts
  -- (and locks at the limit); a reserved failure (counted by beginAttempts already) locks at the limit.
  UPDATE resource_users ru SET
         fail_count = CASE WHEN o.is_ok THEN 0
                           WHEN o.is_counted THEN CASE WHEN ru.locked_until IS NOT NULL THEN 1 ELSE ru.fail_count + 1 END
                           ELSE ru.fail_count END,
         locked_until = CASE WHEN o.is_ok THEN NULL
                             WHEN o.is_counted AND (CASE WHEN ru.locked_until IS NOT NULL THEN 1 ELSE ru.fail_count + 1 END) < o.lim THEN NULL
                             ELSE CASE WHEN o.lock_minutes = 0 THEN 'infinity'::timestamptz ELSE now() + make_interval(mins => o.lock_minutes) END END
    FROM outcome o
   WHERE ru.resource_id = o.resource_id AND ru.user_id = o.user_id AND ru.tenant_id = o.tenant_id
     AND (o.is_ok OR o.is_counted OR (o.kind = 'failure' AND NOT o.gated))
     -- which of those rows change: a success only where there is something to reset
     AND CASE WHEN o.is_ok THEN ru.fail_count <> 0 OR ru.locked_until IS NOT NULL
              WHEN o.is_counted THEN true
              ELSE ru.fail_count >= o.lim AND ru.locked_until IS NULL END
  RETURNING o.idx, ${noticeDueSql('ru')} AS notice_due
), token_failures AS (
  UPDATE tokens t SET fail_count = t.fail_count + 1
    FROM outcome o
   WHERE o.count_tokens AND (o.is_counted OR (o.kind = 'failure' AND NOT o.gated))
     AND t.tenant_id = o.tenant_id AND t.user_id = o.user_id AND t.enabled
     AND EXISTS (SELECT 1 FROM token_resources tr WHERE tr.token_id = t.id AND tr.resource_id = o.resource_id)
), audit AS (
  INSERT INTO audit_events (tenant_id, actor_type, actor_id, actor_label, action, target_type, target_id, resource_id, result, ip, user_agent, details)
  SELECT o.tenant_id, o.actor_type, o.actor_id, o.actor_label, 'authenticate', 'user', o.user_id::text, o.resource_id,
         CASE WHEN o.is_ok THEN 'success' ELSE 'failure' END, o.ip, o.user_agent,
         CASE WHEN o.is_ok THEN jsonb_build_object('login', o.login, 'reason', 'ok')
                                || CASE WHEN o.token_serial IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('token', o.token_serial, 'tokenType', o.token_type) END
              ELSE jsonb_build_object('login', o.login, 'reason', CASE WHEN o.is_locked THEN 'locked' ELSE o.reason END) END
    FROM outcome o WHERE o.status <> 'lost' ORDER BY o.idx
)
-- notice_due: the attempt failed and the member is locked with the lock not told yet (lock-notices.ts):
-- as this statement left the row when it wrote it, else as the row was (a refusal while locked).
SELECT o.idx, o.status,
       NOT o.is_ok AND o.user_id IS NOT NULL AND coalesce(m.notice_due,
         (SELECT ${noticeDueSql('ru')} FROM resource_users ru
           WHERE ru.resource_id = o.resource_id AND ru.user_id = o.user_id AND ru.tenant_id = o.tenant_id), false) AS notice_due
  FROM outcome o LEFT JOIN member m ON m.idx = o.idx`;

export interface AttemptFinish {
  status: AttemptStatus;
  /** The attempt failed and left (or found) the member locked, and no notice of this lock has gone out yet. */
  noticeDue: boolean;
}

/**
 * Ends each attempt as its outcome (and, gated, the limit) says, with its audit event, in one
 * statement; returns each attempt's status and whether a lock notice is due.
 */
export async function finishAttempts(db: Db, ends: AttemptEnd[]): Promise<AttemptFinish[]> {
  const input = ends.map(({ scope, outcome, policy, actor, audit }, idx) => {
    const claim = outcome.kind === 'claim' ? outcome.claim : undefined;
    return {
      idx,
      kind: claim ? claim.kind : outcome.kind,
      gated: policy?.gated ?? false,
      tenant_id: scope.tenantId,
      resource_id: scope.resourceId,
      user_id: scope.userId ?? null,
      token_id: outcome.kind === 'claim' ? outcome.tokenId : null,
      counter: claim?.kind === 'hotp' ? claim.counter : null,
      step: claim?.kind === 'totp' ? claim.step : null,
      drift: claim?.kind === 'totp' ? claim.drift : null,
      lim: policy?.limit ?? null,
      lock_minutes: policy?.lockMinutes ?? null,
      count_tokens: policy?.countTokens ?? false,
      actor_type: actor.type,
      actor_id: actor.id ?? null,
      actor_label: actor.label ?? null,
      ip: actor.ip ?? null,
      user_agent: actor.userAgent?.slice(0, 300) ?? null,
      login: audit.login,
      reason: audit.reason,
      token_serial: audit.token?.serial ?? null,
      token_type: audit.token?.type ?? null,
    };
  });
  const rows = await runPrepared<{ idx: number; status: AttemptStatus; notice_due: boolean }>(db, 'attempts-finish', FINISH_SQL, [JSON.stringify(input), input.length]);
  const finished = new Map<number, AttemptFinish>(rows.map((r) => [r.idx, { status: r.status, noticeDue: r.notice_due }]));
  return ends.map((_, idx) => finished.get(idx)!);
}
