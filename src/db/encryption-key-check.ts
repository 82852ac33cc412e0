/**
 * Start-up check of ENCRYPTION_KEYS (SEC-03): each configured key must open what was sealed with
 * its id. A wrong but well-formed key would otherwise start, report ready, and answer 500 to every
 * check of an existing seed. Run by createServices after migrations, so the web process, the
 * worker and the CLI all refuse to start with the same message.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from './knex';
import { ConfigError } from '../config';
import { createSecretBox } from '../lib/secret-box';
import { openSeed } from '../tokens/token-seed';

const context = (keyId: string) => `encryption-key-check:${keyId}`;

function wrongKey(keyId: string): ConfigError {
  return new ConfigError(`ENCRYPTION_KEYS: key '${keyId}' does not open the data sealed with it; is this the right key?`);
}

/** Whether `open` succeeds (AES-GCM refuses a wrong key through its tag). */
function opens(open: () => unknown): boolean {
  try {
    open();
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws a ConfigError naming the first key id that does not open its sentinel. A key id seen for
 * the first time is checked against one token seed sealed with it (data older than this check).
 * Only when every key passed are the new sentinels written, so a refused start leaves nothing.
 * Answers false (nothing checked) while the table's migration is pending.
 */
export async function checkEncryptionKeys(db: Db, keys: Map<string, Buffer>): Promise<boolean> {
  if (!(await db.schema.hasTable('encryption_key_checks'))) return false;
  const boxes = [...keys].map(([keyId, key]) => ({ keyId, box: createSecretBox(new Map([[keyId, key]]), keyId) }));
  const sentinels = new Map<string, string>((await db('encryption_key_checks').whereIn('key_id', [...keys.keys()]).select('key_id', 'sealed')).map((r) => [r.key_id, r.sealed]));
  const unseen: typeof boxes = [];
  for (const { keyId, box } of boxes) {
    const sealed = sentinels.get(keyId);
    if (sealed) {
      if (!opens(() => box.decrypt(sealed, context(keyId)))) throw wrongKey(keyId);
      continue;
    }
    const seed = await db('tokens').where({ seed_key_id: keyId }).whereNotNull('seed_sealed').first('id', 'seed_sealed');
    if (seed && !opens(() => openSeed(box, seed.id, seed.seed_sealed))) throw wrongKey(keyId);
    unseen.push({ keyId, box });
  }
  for (const { keyId, box } of unseen) {
    // Two processes starting at once with different keys: the first sentinel wins, the other
    // process is refused now rather than at its next start.
    await db('encryption_key_checks').insert({ key_id: keyId, sealed: box.encrypt(randomBytes(16), context(keyId)) }).onConflict('key_id').ignore();
    const stored = await db('encryption_key_checks').where({ key_id: keyId }).first('sealed');
    if (!opens(() => box.decrypt(stored.sealed, context(keyId)))) throw wrongKey(keyId);
  }
  return true;
}
