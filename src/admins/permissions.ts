/** Role rules, enforced in services so every surface (console, API, CLI) gets the same answer. */
import { ForbiddenError } from '../lib/errors';
import type { Actor } from '../audit/actor';

/** Owners and admins change things; auditors only read. API keys act with admin rights in their tenant. */
export function requireWriter(actor: Actor): void {
  if (actor.type === 'admin' && actor.role === 'auditor') {
    throw new ForbiddenError('Auditors have read-only access.');
  }
}

/** Managing admins and API keys is for owners only. */
export function requireOwner(actor: Actor): void {
  if (actor.type === 'system') return;
  if (actor.type !== 'admin' || actor.role !== 'owner') {
    throw new ForbiddenError('Only an owner can manage admins and API keys.');
  }
}
