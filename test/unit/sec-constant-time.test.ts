/**
 * SEC-24 constant-time comparison, as a lint: every `===`, `!==`, `==`, `!=` or Buffer#equals in
 * src/ whose operand is named like a secret (code, otp, hash, token, secret, key, digest, signature,
 * password, pin, mac) must either go through safeEqual (src/lib/crypto.ts) or be in the
 * allow-list below with the reason it is not a secret comparison an attacker can time.
 * Uses the TypeScript parser, so comments, strings and `tokenId` (an id, not a token) are no noise.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const SECRET_WORDS = new Set(['code', 'codes', 'otp', 'otps', 'hash', 'token', 'secret', 'key', 'digest', 'signature', 'password', 'pin', 'mac', 'hmac']);
const EQUALITY = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);

/** `file: comparison text` → why it is not a timing leak. */
const ALLOWED: Record<string, string> = {
  'portal-actions/profile.service.ts: input.confirmPassword !== input.newPassword': 'two fields typed by the same person in the same request; nothing stored is compared',
  'portal-actions/token-actions.service.ts: input.pinConfirm !== pin': 'the new PIN and its confirmation, both from the same request',
  'config.ts: value === devSecret(label)': 'start-up refusal of the public development default; no attacker input',
  'config.ts: b === key[0]': 'start-up refusal of a one-byte key; no attacker input',
  'config.ts: b === key[i % n]': 'start-up refusal of a key made of a short repeated pattern; no attacker input',
  'config.ts: key.equals(devKey)': 'start-up refusal of the public development key; no attacker input',
  'portal-sign-in/sign-in.repository.ts: h !== row.bindingHash': 'removes duplicates from the list of sign-in bindings a new code carries; no input is compared to a secret',
  'validation/authenticate.service.ts: check === checkOathCode': 'compares functions (which checker a token type uses), not codes',
};

/** The name an operand is known by: `a.b.codeHash` → codeHash, `f(x)` → f, `key[0]` → key. */
function nameOf(node: ts.Expression): string | undefined {
  while (ts.isParenthesizedExpression(node) || ts.isNonNullExpression(node) || ts.isAsExpression(node)) node = node.expression;
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  if (ts.isElementAccessExpression(node)) return nameOf(node.expression);
  if (ts.isCallExpression(node)) return nameOf(node.expression);
  return undefined;
}

/** Whether a name reads as a secret: its LAST word is one (`codeHash` yes, `tokenId` / `keyLength` no). */
function looksSecret(name: string | undefined): boolean {
  if (!name) return false;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[\s_]+/).map((w) => w.toLowerCase());
  return SECRET_WORDS.has(words.at(-1)!);
}

const isConstant = (node: ts.Expression) =>
  ts.isLiteralExpression(node) || ts.isNoSubstitutionTemplateLiteral(node) || node.kind === ts.SyntaxKind.NullKeyword || node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword || (ts.isIdentifier(node) && node.text === 'undefined') || ts.isTypeOfExpression(node) || ts.isPrefixUnaryExpression(node);

/** Every equality in `source` between two non-constant operands, one of them named like a secret. */
export function secretComparisons(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isBinaryExpression(node) && EQUALITY.has(node.operatorToken.kind) && !isConstant(node.left) && !isConstant(node.right)) {
      if (looksSecret(nameOf(node.left)) || looksSecret(nameOf(node.right))) found.push(`${fileName}: ${node.getText(file).replace(/\s+/g, ' ')}`);
    }
    // Buffer#equals stops at the first differing byte, like ===.
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'equals' && node.arguments.length === 1) {
      if (looksSecret(nameOf(node.expression.expression)) || looksSecret(nameOf(node.arguments[0]))) found.push(`${fileName}: ${node.getText(file).replace(/\s+/g, ' ')}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('SEC-24 constant-time comparison of secrets', () => {
  it('SEC-24 the scanner catches planted offenders and ignores ids, lengths, types and constants', () => {
    const planted = `
      function check(stored: { codeHash: string }, typed: string, apiKey: string, row: { key_hash: string }, sig: string, expectedSignature: string, expectedMac: Buffer) {
        if (hmac(typed) === stored.codeHash) return true;       // offender
        if (row.key_hash != sha256(apiKey)) return false;        // offender (snake_case, loose)
        if (expectedMac.equals(Buffer.from(sig, 'hex'))) return true; // offender (Buffer#equals)
        return sig !== expectedSignature;                        // offender
      }
      function fine(token: { id: string; type: string }, tokenId: string, code: string, key: Buffer) {
        // a comment: code === secret
        const s = "code === secret";
        return token.type === 'totp' && tokenId === token.id && code.length === 6 && key.length !== 32 && code !== undefined && typeof key === 'object';
      }`;
    assert.deepEqual(secretComparisons('planted.ts', planted), [
      'planted.ts: hmac(typed) === stored.codeHash',
      'planted.ts: row.key_hash != sha256(apiKey)',
      "planted.ts: expectedMac.equals(Buffer.from(sig, 'hex'))",
      'planted.ts: sig !== expectedSignature',
    ]);
  });

  it('SEC-24 no secret in src/ is compared with ===, !==, == or != outside the allow-list (use safeEqual from src/lib/crypto.ts)', () => {
    const found = sourceFiles(SRC).flatMap((f) => secretComparisons(path.relative(SRC, f), readFileSync(f, 'utf8')));
    const offenders = found.filter((c) => !(c in ALLOWED));
    assert.deepEqual(offenders, [], `compare these with safeEqual, or allow-list them with a reason:\n${offenders.join('\n')}`);
    const stale = Object.keys(ALLOWED).filter((c) => !found.includes(c));
    assert.deepEqual(stale, [], 'allow-list entries that no longer match anything: remove them');
  });
});
