/**
 * Read side of the audit log (console, API, CSV export). Takes the Actor: the tenant comes from
 * it, and an admin limited to some resources sees only those resources' events.
 */
import type { Db } from '../db/knex';
import { isUuid } from '../db/errors';
import type { Actor } from './actor';
import type { AuditFilter, AuditPageRequest } from './audit-filter';
import * as repo from './audit-query.repository';
import type { AuditEventView, AuditScope, Cursor, ResolvedFilter } from './audit-query.repository';

export const EXPORT_BATCH = 5000;

export interface AuditPage {
  items: AuditEventView[];
  /** Id to pass as `before` for the next (older) page; null on the last page. */
  nextCursor: number | null;
  /** Id to pass as `after` for the previous (newer) page; null on the first page. */
  prevCursor: number | null;
}

export type AuditService = ReturnType<typeof createAuditService>;

export function createAuditService(db: Db) {
  const scopeOf = (actor: Actor): AuditScope => ({ tenantId: actor.tenantId, resourceIds: actor.resourceIds });

  /** Names and logins to ids within the tenant; null when a named thing does not exist (nothing can match). */
  async function resolve(tenantId: string, filter: AuditFilter): Promise<ResolvedFilter | null> {
    const f: ResolvedFilter = { from: filter.from, until: filter.until, actorType: filter.actorType, action: filter.action, resourceId: filter.resourceId, result: filter.result };
    const [actorIds, userIds, search] = await Promise.all([
      filter.actor === undefined ? undefined : isUuid(filter.actor) ? [filter.actor.toLowerCase()] : repo.actorIdsNamed(db, tenantId, filter.actor, filter.actorType),
      filter.user === undefined ? undefined : isUuid(filter.user) ? [filter.user.toLowerCase()] : repo.userIdsWithLogin(db, tenantId, filter.user),
      filter.q === undefined ? undefined : repo.searchTargets(db, tenantId, filter.q),
    ]);
    if (actorIds?.length) f.actorIds = actorIds;
    else if (actorIds) {
      // System actors have no row to name them: their label is their name ("cli", "invitation reminders").
      if (filter.actorType && filter.actorType !== 'system') return null;
      f.systemLabel = filter.actor;
    }
    if (userIds && !userIds.length) return null;
    if (userIds) f.targetUserIds = userIds;
    if (search && !search.length) return null;
    if (search) f.search = search;
    return f;
  }

  async function exists(scope: AuditScope, f: ResolvedFilter, cursor: Cursor): Promise<boolean> {
    return (await repo.eventKeys(db, scope, f, cursor, 1)).length > 0;
  }

  return {
    /** One page, newest first, with the cursors of its neighbours. Tenant (and resource) scoped by the actor. */
    async list(actor: Actor, filter: AuditFilter, page: AuditPageRequest): Promise<AuditPage> {
      const scope = scopeOf(actor);
      const f = await resolve(actor.tenantId, filter);
      if (!f) return { items: [], nextCursor: null, prevCursor: null };
      const cursor: Cursor | undefined = page.after ? { direction: 'newer', id: page.after } : page.before ? { direction: 'older', id: page.before } : undefined;
      // One more than asked tells whether a page lies beyond, without counting the log.
      const keys = await repo.eventKeys(db, scope, f, cursor, page.limit + 1);
      const more = keys.length > page.limit;
      const newer = cursor?.direction === 'newer';
      const pageKeys = more ? (newer ? keys.slice(1) : keys.slice(0, page.limit)) : keys;
      const first = pageKeys[0]?.id;
      const last = pageKeys[pageKeys.length - 1]?.id;
      let nextCursor: number | null = null;
      let prevCursor: number | null = null;
      if (last !== undefined && first !== undefined) {
        if (newer) {
          prevCursor = more ? first : null;
          nextCursor = (await exists(scope, f, { direction: 'older', id: last })) ? last : null;
        } else {
          nextCursor = more ? last : null;
          prevCursor = cursor && (await exists(scope, f, { direction: 'newer', id: first })) ? first : null;
        }
      }
      return { items: await repo.eventsWithNames(db, actor.tenantId, pageKeys.map((k) => k.id)), nextCursor, prevCursor };
    },

    /**
     * Every event of the filter, newest first, in batches of EXPORT_BATCH read by keyset: the
     * caller writes each batch out before the next is read, so memory holds one batch at most.
     */
    export(actor: Actor, filter: AuditFilter): AsyncIterable<AuditEventView[]> {
      const scope = scopeOf(actor);
      return {
        async *[Symbol.asyncIterator]() {
          const f = await resolve(actor.tenantId, filter);
          if (!f) return;
          let cursor: Cursor | undefined;
          for (;;) {
            const keys = await repo.eventKeys(db, scope, f, cursor, EXPORT_BATCH);
            if (!keys.length) return;
            yield await repo.eventsWithNames(db, actor.tenantId, keys.map((k) => k.id));
            if (keys.length < EXPORT_BATCH) return;
            cursor = { direction: 'older', id: keys[keys.length - 1].id };
          }
        },
      };
    },
  };
}
