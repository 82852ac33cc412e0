/** The input guard (src/web/input-guard.ts): what it refuses, what it lets through, how it names the field. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findInputProblem, MAX_TEXT_LENGTH } from '../../src/web/input-guard';

describe('findInputProblem', () => {
  it('lets ordinary text through: accents, other scripts, emoji (surrogate pairs), tab, line breaks', () => {
    for (const text of ['José Müller', 'Łódź', '山田太郎', 'محمد', 'key 🔑 and 👍🏽', 'line one\r\nline two\tcolumn', '', 'x'.repeat(MAX_TEXT_LENGTH)]) {
      assert.equal(findInputProblem({ name: text, list: [text], nested: { deeper: text } }), undefined, JSON.stringify(text));
    }
    for (const value of [undefined, null, 42, 1e308, true, [], {}]) assert.equal(findInputProblem(value), undefined);
  });

  it('refuses a NUL byte, naming the field and its path', () => {
    assert.equal(findInputProblem({ login: 'a\u0000b' }), 'The field "login" contains a NUL byte, which is not allowed.');
    assert.match(findInputProblem({ items: [{ name: 'ok' }, { name: '\u0000' }] })!, /^The field "items\.1\.name" contains a NUL byte/);
    assert.match(findInputProblem('\u0000')!, /^The field "body"/);
  });

  it('refuses lone surrogates (high without low, low without high), not pairs', () => {
    for (const text of ['a\uD800', '\uD800b', '\uDC00', 'a\uDBFF\uDBFF\uDC00', '\uD83D\uDE00\uDE00']) {
      assert.match(findInputProblem({ q: text }) ?? '', /"q" contains an invalid character \(a lone UTF-16 surrogate\)/, JSON.stringify(text));
    }
    assert.equal(findInputProblem({ q: '\uD83D\uDE00' }), undefined);
  });

  it('refuses C0 controls other than tab and line breaks, DEL and C1 controls', () => {
    for (const code of [0x01, 0x07, 0x08, 0x0b, 0x0c, 0x1b, 0x1f, 0x7f, 0x85, 0x9f]) {
      assert.match(findInputProblem({ name: `a${String.fromCharCode(code)}b` }) ?? '', /"name" contains a control character/, code.toString(16));
    }
  });

  it('refuses over-long text, and keys as well as values (a hostile key is shown escaped)', () => {
    assert.equal(findInputProblem({ name: 'x'.repeat(MAX_TEXT_LENGTH + 1) }), `The field "name" is too long (at most ${MAX_TEXT_LENGTH} characters).`);
    assert.equal(findInputProblem({ 'a\u0000': 'b' }), 'The field "a\\u0000" contains a NUL byte, which is not allowed.');
  });

  it('refuses nesting deeper than any body we accept, without recursing through it', () => {
    const deep = JSON.parse('['.repeat(10_000) + ']'.repeat(10_000));
    assert.match(findInputProblem(deep)!, /is nested too deeply/);
    assert.equal(findInputProblem({ a: { b: { c: [1, 2, { d: 'ok' }] } } }), undefined);
  });
});
