/**
 * Every audit action the code writes has words in the audit log (audit-words.ts) and so is a
 * webhook event type: the source is scanned for `action: '...'` literals and SQL-written actions.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACTION_WORDS } from '../../src/audit/audit-words';
import { EVENT_TYPES, isEventType } from '../../src/webhooks/event-types';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : full.endsWith('.ts') ? [full] : [];
  });
}

describe('audit actions', () => {
  it('every action written in src/ has words and is a webhook event type', () => {
    const written = new Set<string>();
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/action: '([a-z_.]+)'/g)) written.add(m[1]!);
      // The one action built from a template (contact-removal.service.ts), for each kind.
      if (text.includes('action: `portal.profile.${kind}_removed`')) for (const kind of ['email', 'phone']) written.add(`portal.profile.${kind}_removed`);
    }
    written.add('authenticate'); // written by SQL in attempt.repository.ts
    assert.ok(written.size > 50, `found ${written.size} actions`);
    const missing = [...written].filter((a) => !(a in ACTION_WORDS));
    assert.deepEqual(missing, [], 'add these to src/audit/audit-words.ts');
    assert.ok([...written].every(isEventType));
    assert.deepEqual([...EVENT_TYPES], Object.keys(ACTION_WORDS).sort());
  });
});
