import type { Knex } from 'knex';

/**
 * Each member's enrolment state kept on its resource_users row (issue 14, docs/decisions.md), so
 * a status filter is an index range and the progress figures are index-only counts, at any
 * resource size (they were a join over every token of the resource: 135–205 ms at 100 000).
 *
 * - `enrolled_at`: when the member became enrolled (the later of the assignment and the first
 *   assignment of a token still active), null when not enrolled. Active = enabled, assigned to
 *   the resource, owned by the member, not a portal enrolment waiting for its first code: the
 *   definition of enrollment-status.repository (activeTokenSql), written once more here.
 * - `invitation_expires_at`: expiry of the member's live (not cancelled) invitation, null
 *   without one. Invited or expired is decided against now() when read.
 *
 * The database keeps both, so every write path stays right without knowing (the services, the
 * importers, bulk SQL, a fix in psql): triggers on every table the state depends on recompute the
 * states of the members touched. Statement-level triggers with transition tables, so a bulk
 * insert recomputes once, set-based; updates of tokens and members are row triggers with a WHEN
 * clause, since a check updates its token (counter, last use) and a failed one its member row
 * (failures, lock) on the hot path, and must not pay.
 *
 * Plans: the functions touch a few members per call, or one index lookup per member of a bulk
 * statement, and run inside bulk loads, before ANALYZE has seen the new rows. Every lookup is
 * written as one index's job (see REFRESH); the functions run with sequential scans priced out
 * and without JIT (a priced-out plan looks costly enough to compile, 0.5 s a call). Without
 * this, bench seeds went quadratic: a bitmap of the whole tenant AND-ed into every member lookup,
 * every token of the tenant read per member (docs/decisions.md).
 *
 * Concurrency: the recount first locks the member rows, then counts in a new statement. Under
 * READ COMMITTED that statement's snapshot is taken after any other writer of those members
 * (who holds the same locks until it commits) is done, so the last writer counts everyone's
 * changes, and a state cannot be left stale by two transactions racing.
 */
/** Session settings of every function here (see "Plans" above). */
const PLAN_SETTINGS = 'SET enable_seqscan = off SET jit = off';

// Each lookup names one index by the only equality it offers: members by user (the (user_id,
// tenant_id) index, replacing the user_id one), a member's tokens by owner (tokens_user_idx),
// their assignment and pending enrolment by token, the invitation by (resource, user). The
// matching tenant and resource are compared with IS NOT DISTINCT FROM, which no index serves, so
// a misestimate (a new tenant or resource the statistics do not know yet: "1 row") cannot turn
// a lookup into a scan of the whole tenant or resource per member.
const REFRESH = `CREATE OR REPLACE FUNCTION refresh_member_states(p_users uuid[]) RETURNS void LANGUAGE plpgsql ${PLAN_SETTINGS} AS $$
  BEGIN
    PERFORM 1 FROM resource_users WHERE user_id = ANY(p_users) ORDER BY resource_id, user_id FOR UPDATE;
    UPDATE resource_users ru
       SET enrolled_at = s.enrolled_at, invitation_expires_at = s.invitation_expires_at
      FROM (SELECT m.resource_id, m.user_id,
                   CASE WHEN a.first_assigned_at IS NOT NULL THEN greatest(m.created_at, a.first_assigned_at) END AS enrolled_at,
                   (SELECT ei.expires_at FROM enrollment_invitations ei
                     WHERE ei.resource_id = m.resource_id AND ei.user_id = m.user_id
                       AND ei.tenant_id IS NOT DISTINCT FROM m.tenant_id AND ei.cancelled_at IS NULL) AS invitation_expires_at
              FROM resource_users m
              CROSS JOIN LATERAL (
                SELECT min(tr.created_at) AS first_assigned_at
                  FROM tokens t
                  JOIN token_resources tr ON tr.token_id = t.id
                   AND tr.tenant_id IS NOT DISTINCT FROM t.tenant_id AND tr.resource_id IS NOT DISTINCT FROM m.resource_id
                 WHERE t.user_id = m.user_id AND t.tenant_id IS NOT DISTINCT FROM m.tenant_id AND t.enabled
                   AND NOT EXISTS (SELECT 1 FROM portal_enrollments pe WHERE pe.token_id = t.id AND pe.tenant_id IS NOT DISTINCT FROM t.tenant_id)
              ) a
             WHERE m.user_id = ANY(p_users)) s
     WHERE ru.resource_id = s.resource_id AND ru.user_id = s.user_id
       AND (ru.enrolled_at, ru.invitation_expires_at) IS DISTINCT FROM (s.enrolled_at, s.invitation_expires_at);
  END $$`;

/**
 * A trigger function recounting the members named by `users`, an SQL source of user ids read from
 * the trigger's transition tables (`changed`, and `changed_old` for updates) or, for a row
 * trigger, from OLD and NEW. A user id names one tenant's user, and the recount reads every
 * table by the member row's own tenant_id.
 */
function recountFunction(name: string, users: string): string {
  return `CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql ${PLAN_SETTINGS} AS $$
    BEGIN
      PERFORM refresh_member_states(ARRAY(SELECT DISTINCT user_id FROM (${users}) r WHERE user_id IS NOT NULL));
      RETURN NULL;
    END $$`;
}

/** Rows carrying user_id: members, invitations, portal enrolments, deleted tokens. */
const userRows = (...tables: string[]) => tables.map((t) => `SELECT user_id FROM ${t}`).join(' UNION ALL ');
/** Token assignments: the member is the token's owner (a deleted token is its own trigger's work). */
const tokenRows = (...tables: string[]) =>
  `SELECT user_id FROM tokens WHERE id = ANY (ARRAY(${tables.map((t) => `SELECT token_id FROM ${t}`).join(' UNION ALL ')}))`;

const FUNCTIONS: Record<string, string> = {
  member_states_by_user_rows: userRows('changed'),
  member_states_by_user_updates: userRows('changed', 'changed_old'),
  member_states_by_token_rows: tokenRows('changed'),
  member_states_by_token_updates: tokenRows('changed', 'changed_old'),
  // Row triggers: a token enabled, disabled or given to another owner; a member row rewritten.
  member_states_by_row_update: 'SELECT OLD.user_id AS user_id UNION ALL SELECT NEW.user_id',
};

/** [trigger name, table, event, function] of the statement-level triggers. */
const STATEMENT_TRIGGERS: Array<[string, string, 'INSERT' | 'UPDATE' | 'DELETE', string]> = [
  ['member_states_on_member_insert', 'resource_users', 'INSERT', 'member_states_by_user_rows'],
  ['member_states_on_assign', 'token_resources', 'INSERT', 'member_states_by_token_rows'],
  ['member_states_on_assignment_update', 'token_resources', 'UPDATE', 'member_states_by_token_updates'],
  ['member_states_on_unassign', 'token_resources', 'DELETE', 'member_states_by_token_rows'],
  ['member_states_on_token_delete', 'tokens', 'DELETE', 'member_states_by_user_rows'],
  ['member_states_on_pending_insert', 'portal_enrollments', 'INSERT', 'member_states_by_user_rows'],
  ['member_states_on_pending_update', 'portal_enrollments', 'UPDATE', 'member_states_by_user_updates'],
  ['member_states_on_pending_delete', 'portal_enrollments', 'DELETE', 'member_states_by_user_rows'],
  ['member_states_on_invitation_insert', 'enrollment_invitations', 'INSERT', 'member_states_by_user_rows'],
  ['member_states_on_invitation_update', 'enrollment_invitations', 'UPDATE', 'member_states_by_user_updates'],
  ['member_states_on_invitation_delete', 'enrollment_invitations', 'DELETE', 'member_states_by_user_rows'],
];

const TRANSITION = { INSERT: 'NEW TABLE AS changed', DELETE: 'OLD TABLE AS changed', UPDATE: 'OLD TABLE AS changed_old NEW TABLE AS changed' };

/**
 * [trigger name, table, columns, function] of the row triggers, for updates of tables the hot path
 * writes (a check updates its token; a failed one its member row): they fire only when a column
 * the state depends on changes, so a check pays nothing.
 */
const ROW_TRIGGERS: Array<[string, string, string[], string]> = [
  ['member_states_on_token_update', 'tokens', ['enabled', 'user_id', 'tenant_id'], 'member_states_by_row_update'],
  ['member_states_on_member_update', 'resource_users', ['created_at', 'user_id', 'resource_id', 'tenant_id'], 'member_states_by_row_update'],
];

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE resource_users ADD COLUMN IF NOT EXISTS enrolled_at timestamptz, ADD COLUMN IF NOT EXISTS invitation_expires_at timestamptz');
  await knex.raw(REFRESH);
  for (const [name, rows] of Object.entries(FUNCTIONS)) await knex.raw(recountFunction(name, rows));
  for (const [name, table, event, fn] of STATEMENT_TRIGGERS) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
    await knex.raw(`CREATE TRIGGER ${name} AFTER ${event} ON ${table} REFERENCING ${TRANSITION[event]} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`);
  }
  for (const [name, table, columns, fn] of ROW_TRIGGERS) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
    await knex.raw(`CREATE TRIGGER ${name} AFTER UPDATE OF ${columns.join(', ')} ON ${table} FOR EACH ROW
      WHEN (${columns.map((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`).join(' OR ')}) EXECUTE FUNCTION ${fn}()`);
  }

  await knex.raw('CREATE INDEX IF NOT EXISTS resource_users_user_tenant_idx ON resource_users (user_id, tenant_id)');
  await knex.raw('CREATE INDEX IF NOT EXISTS tokens_user_idx ON tokens (user_id) WHERE user_id IS NOT NULL');
  await knex.raw('DROP INDEX IF EXISTS resource_users_user_id_index');

  // Every existing member, once.
  await knex.raw('SELECT refresh_member_states(ARRAY(SELECT DISTINCT user_id FROM resource_users))');

  // A status page walks its state's login order; counts and the chart read the enrolment times.
  await knex.raw(`CREATE INDEX IF NOT EXISTS resource_users_enrolled_login_idx ON resource_users (tenant_id, resource_id, login_key, user_id)
    WHERE enrolled_at IS NOT NULL`);
  await knex.raw(`CREATE INDEX IF NOT EXISTS resource_users_not_enrolled_login_idx ON resource_users (tenant_id, resource_id, login_key, user_id)
    INCLUDE (invitation_expires_at) WHERE enrolled_at IS NULL`);
  await knex.raw(`CREATE INDEX IF NOT EXISTS resource_users_enrolled_at_idx ON resource_users (tenant_id, resource_id, enrolled_at)
    WHERE enrolled_at IS NOT NULL`);
  // The not enrolled and the invited among them, counted index-only from a narrow index (the
  // members never invited share one posting list per resource).
  await knex.raw(`CREATE INDEX IF NOT EXISTS resource_users_not_enrolled_idx ON resource_users (tenant_id, resource_id, invitation_expires_at)
    WHERE enrolled_at IS NULL`);
  // The chart starts at the first assignment: the first entry of this index, instead of every
  // member's assignment time (which the replaced covering index was for).
  await knex.raw('CREATE INDEX IF NOT EXISTS resource_users_assigned_at_idx ON resource_users (tenant_id, resource_id, created_at)');
  await knex.raw('DROP INDEX IF EXISTS resource_users_tenant_resource_created_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX IF NOT EXISTS resource_users_tenant_resource_created_idx ON resource_users (tenant_id, resource_id, user_id) INCLUDE (created_at)');
  for (const index of ['resource_users_assigned_at_idx', 'resource_users_not_enrolled_idx', 'resource_users_enrolled_at_idx', 'resource_users_not_enrolled_login_idx', 'resource_users_enrolled_login_idx']) {
    await knex.raw(`DROP INDEX IF EXISTS ${index}`);
  }
  for (const [name, table] of [...STATEMENT_TRIGGERS, ...ROW_TRIGGERS]) await knex.raw(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
  for (const fn of Object.keys(FUNCTIONS)) await knex.raw(`DROP FUNCTION IF EXISTS ${fn}()`);
  await knex.raw('DROP FUNCTION IF EXISTS refresh_member_states(uuid[])');
  await knex.raw('CREATE INDEX IF NOT EXISTS resource_users_user_id_index ON resource_users (user_id)');
  await knex.raw('DROP INDEX IF EXISTS resource_users_user_tenant_idx');
  await knex.raw('DROP INDEX IF EXISTS tokens_user_idx');
  await knex.raw('ALTER TABLE resource_users DROP COLUMN IF EXISTS invitation_expires_at, DROP COLUMN IF EXISTS enrolled_at');
}
