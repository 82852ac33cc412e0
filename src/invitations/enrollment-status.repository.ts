/**
 * The one SQL definition of "enrolled" (issue 12 §3, §4), shared by invitations and enrolment
 * progress: the user has a token assigned in the resource that is enabled and not a portal
 * enrolment still waiting for its confirmation code (the rule sign-in and the token limit use,
 * see countUserTokensInResource in src/tokens/token.repository.ts).
 */

/**
 * An SQL boolean expression, true when the user is enrolled in the resource. `tenant`, `resource`
 * and `user` are column references of the outer query (e.g. `ru.tenant_id`), never user input.
 */
export function enrolledSql(tenant: string, resource: string, user: string): string {
  return `EXISTS (SELECT 1 FROM token_resources tr_e JOIN tokens t_e ON t_e.id = tr_e.token_id AND t_e.tenant_id = tr_e.tenant_id
    WHERE tr_e.tenant_id = ${tenant} AND tr_e.resource_id = ${resource} AND t_e.user_id = ${user} AND t_e.enabled
      AND NOT EXISTS (SELECT 1 FROM portal_enrollments pe_e WHERE pe_e.tenant_id = t_e.tenant_id AND pe_e.token_id = t_e.id))`;
}
