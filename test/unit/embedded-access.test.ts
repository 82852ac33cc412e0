import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closedFolderOnTheWay, embeddedAccessProblem } from '../../src/db/embedded-access';

describe('embedded PostgreSQL as root: folders its user cannot enter', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mfa-access-'));
  const open = path.join(base, 'open');
  const closed = path.join(base, 'closed');
  fs.mkdirSync(path.join(open, 'inner'), { recursive: true, mode: 0o755 });
  fs.mkdirSync(path.join(closed, 'inner'), { recursive: true });
  fs.chmodSync(base, 0o755);
  fs.chmodSync(open, 0o755);
  fs.chmodSync(closed, 0o700);
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  it('finds the first folder on the way that others cannot enter', () => {
    assert.equal(closedFolderOnTheWay(path.join(closed, 'inner', 'data')), closed);
    assert.equal(closedFolderOnTheWay(path.join(open, 'inner', 'data')), undefined);
    assert.equal(closedFolderOnTheWay(path.join(open, 'not-yet', 'data')), undefined, 'folders still to be created are made enterable');
  });

  it('names the folder, what lies behind it and the ways out', () => {
    const problem = embeddedAccessProblem([
      { what: 'the PostgreSQL programs', path: path.join(open, 'inner') },
      { what: 'the data folder', path: path.join(closed, 'inner', 'pg') },
    ]);
    assert.ok(problem);
    assert.match(problem, new RegExp(`cannot enter ${closed.replaceAll('/', '\\/')} \\(on the way to the data folder`));
    assert.match(problem, /run npm start as a normal user/);
    assert.match(problem, /DATABASE_URL/);
    assert.equal(embeddedAccessProblem([{ what: 'the data folder', path: path.join(open, 'inner') }]), undefined);
  });
});
