/**
 * Admin alert subscriptions (issue 13 §2): each admin chooses their own alert kinds (any role: an
 * auditor may want to know too); owners see who receives what. Changes are audited.
 */
import { z } from 'zod';
import type { Db } from '../db/knex';
import type { Actor } from '../audit/actor';
import { recordAudit } from '../audit/audit.repository';
import { ForbiddenError } from '../lib/errors';
import { parseInput } from '../lib/validation';
import { requireOwner } from '../admins/permissions';
import { ALERT_KINDS, type AlertKind } from './alert-kinds';
import * as repo from './alert.repository';

const kindsSchema = z.strictObject({
  kinds: z.array(z.enum(ALERT_KINDS, { error: `Each kind is one of ${ALERT_KINDS.join(', ')}.` }), { error: 'List the alert kinds (an empty list turns all alerts off).' }).transform((k) => [...new Set(k)].sort()),
});

export type AlertService = ReturnType<typeof createAlertService>;

function requireSignedInAdmin(actor: Actor): string {
  if (actor.type !== 'admin' || !actor.id) throw new ForbiddenError('Alerts belong to an admin; sign in to the console to choose yours.');
  return actor.id;
}

export function createAlertService(db: Db) {
  return {
    async mine(actor: Actor): Promise<AlertKind[]> {
      return repo.kindsOf(db, actor.tenantId, requireSignedInAdmin(actor));
    },

    /** Replaces the signed-in admin's alert kinds. */
    async setMine(actor: Actor, input: unknown): Promise<AlertKind[]> {
      const adminId = requireSignedInAdmin(actor);
      const { kinds } = parseInput(kindsSchema, input);
      await db.transaction(async (trx) => {
        if (await repo.replaceKinds(trx, actor.tenantId, adminId, kinds)) {
          await recordAudit(trx, actor, { action: 'admin.alerts.update', targetType: 'admin', targetId: adminId, details: { kinds } });
        }
      });
      return kinds;
    },

    /** Owners: every admin and the kinds they receive. */
    async overview(actor: Actor) {
      requireOwner(actor);
      return repo.overview(db, actor.tenantId);
    },
  };
}
