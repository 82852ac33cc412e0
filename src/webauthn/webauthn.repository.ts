/**
 * SQL for WebAuthn credentials (one per `webauthn` token, keyed by token id). Every query is
 * scoped by tenant id; a credential is usable only through an enabled token of its owner that is
 * assigned to the resource.
 */
import type { Queryable } from '../db/knex';

export interface StoredCredential {
  tokenId: string;
  serial: string;
  /** base64url */
  credentialId: string;
  publicKey: Uint8Array<ArrayBuffer>;
  signCount: number;
  transports: string[];
  rpId: string;
}

export interface NewCredential {
  tenantId: string;
  tokenId: string;
  credentialId: string;
  publicKey: Uint8Array;
  signCount: number;
  transports: string[];
  aaguid: string;
  deviceType: string;
  backedUp: boolean;
  rpId: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toCredential = (r: any): StoredCredential => ({
  tokenId: r.token_id,
  serial: r.serial,
  credentialId: r.credential_id,
  publicKey: new Uint8Array(r.public_key),
  signCount: Number(r.sign_count),
  transports: r.transports ?? [],
  rpId: r.rp_id,
});

const COLUMNS = ['c.token_id', 't.serial', 'c.credential_id', 'c.public_key', 'c.sign_count', 'c.transports', 'c.rp_id'];

/** Inserts the credential; a credential id already stored anywhere raises a unique violation. */
export async function insertCredential(q: Queryable, c: NewCredential): Promise<void> {
  await q('token_webauthn_credentials').insert({
    token_id: c.tokenId,
    tenant_id: c.tenantId,
    credential_id: c.credentialId,
    public_key: Buffer.from(c.publicKey),
    sign_count: c.signCount,
    transports: c.transports,
    aaguid: c.aaguid,
    device_type: c.deviceType,
    backed_up: c.backedUp,
    rp_id: c.rpId,
  });
}

/** All of the user's credentials in the tenant, any resource, enabled or not (excluded at registration). */
export async function credentialsOfUser(q: Queryable, tenantId: string, userId: string): Promise<StoredCredential[]> {
  const rows = await q('token_webauthn_credentials as c')
    .join('tokens as t', 't.id', 'c.token_id')
    .where({ 'c.tenant_id': tenantId, 't.tenant_id': tenantId, 't.user_id': userId })
    .orderBy('c.created_at')
    .select(COLUMNS);
  return rows.map(toCredential);
}

function usable(q: Queryable, tenantId: string, resourceId: string, userId: string) {
  return q('token_webauthn_credentials as c')
    .join('tokens as t', 't.id', 'c.token_id')
    .join('token_resources as tr', 'tr.token_id', 't.id')
    .where({ 'c.tenant_id': tenantId, 't.tenant_id': tenantId, 'tr.tenant_id': tenantId, 'tr.resource_id': resourceId, 't.user_id': userId, 't.enabled': true, 't.type': 'webauthn' });
}

/** The credentials that can prove this user's second factor in the resource (enabled tokens assigned to it). */
export async function credentialsForCheck(q: Queryable, tenantId: string, resourceId: string, userId: string): Promise<StoredCredential[]> {
  const rows = await usable(q, tenantId, resourceId, userId).orderBy('c.created_at').select(COLUMNS);
  return rows.map(toCredential);
}

export async function findCredentialForCheck(q: Queryable, tenantId: string, resourceId: string, userId: string, credentialId: string): Promise<StoredCredential | undefined> {
  const row = await usable(q, tenantId, resourceId, userId).andWhere('c.credential_id', credentialId).first(COLUMNS);
  return row ? toCredential(row) : undefined;
}

/**
 * Records a use: the counter moves forward only (compare-and-set, so a replayed or concurrent
 * assertion with the same counter loses), unless the authenticator keeps no counter (0 and 0).
 * Marks the token used. False when the counter did not advance or the token is no longer enabled.
 */
export async function recordUse(q: Queryable, tenantId: string, tokenId: string, newCount: number): Promise<boolean> {
  const { rows } = await q.raw(
    `WITH c AS (
       UPDATE token_webauthn_credentials SET sign_count = :n
        WHERE tenant_id = :tenant AND token_id = :token AND (sign_count < :n OR (sign_count = 0 AND :n = 0))
       RETURNING token_id
     )
     UPDATE tokens t SET last_used_at = now(), fail_count = 0, updated_at = now()
       FROM c WHERE t.id = c.token_id AND t.tenant_id = :tenant AND t.enabled
     RETURNING t.id`,
    { n: newCount, tenant: tenantId, token: tokenId },
  );
  return rows.length === 1;
}
