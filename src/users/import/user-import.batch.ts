/**
 * Writes one batch of judged rows in the caller's transaction: a multi-row INSERT of new users
 * (a login that exists, in any case, is left to the unique index), then, with "update existing",
 * the given fields of the others; then the assignments in multi-row INSERTs. Counts what it did.
 */
import type { Queryable } from '../../db/knex';
import * as repo from './user-import.repository';
import type { ImportedUser } from './user-rows';

export interface BatchCounts {
  created: number;
  updated: number;
  unchanged: number;
}

/** 3 bind parameters per assignment: far below PostgreSQL's 65 535 per statement. */
const ASSIGNMENTS_PER_INSERT = 5000;

const FIELD_COLUMNS = [
  ['email', 'email'],
  ['phone', 'phone'],
  ['firstName', 'first_name'],
  ['lastName', 'last_name'],
] as const;

export async function writeUserBatch(q: Queryable, tenantId: string, users: ImportedUser[], updateExisting: boolean): Promise<BatchCounts> {
  // Look up first so a file imported again sends no INSERT at all; the INSERT still ignores a
  // login created meanwhile by someone else (the unique index decides, not this lookup).
  const before = new Map((await repo.usersByLogin(q, tenantId, users.map((u) => u.login.toLowerCase()))).map((r) => [r.login.toLowerCase(), r]));
  const inserted = await repo.insertUsers(
    q,
    users
      .filter((u) => !before.has(u.login.toLowerCase()))
      .map((u) => ({ tenant_id: tenantId, login: u.login, email: u.email ?? null, phone: u.phone ?? null, first_name: u.firstName ?? null, last_name: u.lastName ?? null })),
  );
  const createdIds = new Map(inserted.map((r) => [r.login.toLowerCase(), r.id]));
  const newIds = new Set(createdIds.values());
  const raced = users.filter((u) => !createdIds.has(u.login.toLowerCase()) && !before.has(u.login.toLowerCase()));
  const existing = new Map([...before, ...(await repo.usersByLogin(q, tenantId, raced.map((u) => u.login.toLowerCase()))).map((r) => [r.login.toLowerCase(), r] as const)]);

  const changed = new Set<string>();
  const assignments: Array<{ tenant_id: string; resource_id: string; user_id: string }> = [];
  for (const user of users) {
    const key = user.login.toLowerCase();
    const newId = createdIds.get(key);
    const found = existing.get(key);
    // An existing user is left exactly as it is unless the admin asked for updates.
    const userId = newId ?? (updateExisting ? found?.id : undefined);
    if (!userId) continue;
    for (const resourceId of user.resourceIds) assignments.push({ tenant_id: tenantId, resource_id: resourceId, user_id: userId });
    if (newId || !found) continue;
    const patch: Record<string, string> = {};
    for (const [field, column] of FIELD_COLUMNS) {
      const value = user[field];
      if (value !== undefined && value !== found[column]) patch[column] = value;
    }
    if (Object.keys(patch).length) {
      await repo.updateUserFields(q, tenantId, found.id, patch);
      changed.add(found.id);
    }
  }
  for (let i = 0; i < assignments.length; i += ASSIGNMENTS_PER_INSERT) {
    const gained = await repo.insertAssignments(q, assignments.slice(i, i + ASSIGNMENTS_PER_INSERT));
    for (const id of gained) if (!newIds.has(id)) changed.add(id);
  }
  // A login neither created nor found was deleted meanwhile by someone else: nothing to update, so unchanged.
  return { created: inserted.length, updated: changed.size, unchanged: users.length - inserted.length - changed.size };
}
