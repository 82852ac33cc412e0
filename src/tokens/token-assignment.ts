/**
 * Assigning a token to a resource, inside the caller's transaction (token creation and the
 * assign action share it): the owner must be a member of the resource, the resource's token limit
 * holds, and the assignment is audited. Idempotent: an existing assignment changes nothing.
 */
import type { Knex } from 'knex';
import { ConflictError, ValidationError } from '../lib/errors';
import { recordAudit } from '../audit/audit.repository';
import type { Actor } from '../audit/actor';
import type { Resource } from '../resources/resource.types';
import * as repo from './token.repository';
import type { Token } from './token.types';

export async function assignTokenToResource(trx: Knex.Transaction, actor: Actor, resource: Resource, token: Token): Promise<void> {
  if (!token.userId) {
    const message = 'This token has no owner: give it an owner (PATCH userId) before assigning it to a resource.';
    throw new ValidationError({ tokenId: message }, message);
  }
  const member = await trx('resource_users').where({ tenant_id: actor.tenantId, resource_id: resource.id, user_id: token.userId }).first();
  if (!member) {
    const message = "The token's owner is not assigned to this resource: assign the user to the resource first, then the token.";
    throw new ValidationError({ tokenId: message }, message);
  }
  // Lock the membership row so two concurrent assignments cannot both pass the limit check.
  await trx.raw('SELECT 1 FROM resource_users WHERE resource_id = ? AND user_id = ? FOR UPDATE', [resource.id, token.userId]);
  const existing = await trx('token_resources').where({ token_id: token.id, resource_id: resource.id }).first();
  if (existing) return;
  if ((await repo.countUserTokensInResource(trx, actor.tenantId, token.userId, resource.id)) >= resource.maxTokensPerUser) {
    throw new ConflictError(`This user already has the maximum of ${resource.maxTokensPerUser} token(s) in ${resource.name}.`);
  }
  await repo.insertTokenResource(trx, actor.tenantId, token.id, resource.id);
  await recordAudit(trx, actor, { action: 'resource.token.assign', targetType: 'token', targetId: token.id, resourceId: resource.id, details: { serial: token.serial } });
}
