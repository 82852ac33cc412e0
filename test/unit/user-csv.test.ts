import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { csvRecords } from '../../src/users/import/csv-records';
import { judgeUserFile, readUserFile } from '../../src/users/import/user-file';
import { UserCsvHeaderError } from '../../src/users/import/user-rows';

const records = (text: string) => [...csvRecords(text)];
const resources = new Map([['vpn', 'id-vpn'], ['wiki', 'id-wiki']]);
const lookup = (name: string) => resources.get(name.toLowerCase());
const judge = (text: string) => judgeUserFile(readUserFile(Buffer.from(text)), lookup);

describe('user CSV (RFC 4180 records)', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, and keeps the line each record starts on', () => {
    const got = records('login,lastName\r\n"a,b","say ""hi"""\n\n"multi\nline",x\ny,z');
    assert.deepEqual(got, [
      { line: 1, fields: ['login', 'lastName'] },
      { line: 2, fields: ['a,b', 'say "hi"'] },
      { line: 4, fields: ['multi\nline', 'x'] },
      { line: 6, fields: ['y', 'z'] },
    ]);
  });

  it('drops a UTF-8 BOM and reports stray or unclosed quotes on their record only', () => {
    assert.deepEqual(records('\uFEFFlogin\nab"c\nok')[0], { line: 1, fields: ['login'] });
    assert.match(records('login\nab"c\nok')[1].problem!, /quote/);
    assert.deepEqual(records('"a"  ,"b"\t\n'), [{ line: 1, fields: ['a', 'b'] }]);
    assert.match(records('"a"x,b')[0].problem!, /text follows a closing quote/);
    assert.deepEqual(records('login\nab"c\nok')[2], { line: 3, fields: ['ok'] });
    const unclosed = records('login\n"abc\nmore');
    assert.equal(unclosed[1].line, 2);
    assert.match(unclosed[1].problem!, /never closed/);
  });
});

describe('user CSV (header and rows)', () => {
  it('refuses unknown columns naming them, and a header without login', () => {
    assert.throws(() => readUserFile(Buffer.from('login,mail,Dept\nx,y,z')), (e: Error) => e instanceof UserCsvHeaderError && /Unknown columns "mail", "Dept"/.test(e.message));
    assert.throws(() => readUserFile(Buffer.from('email\nx@example.com')), /no "login" column/);
    assert.throws(() => readUserFile(Buffer.from('')), /empty/);
    assert.throws(() => readUserFile(Buffer.from('login;email\nx;y')), /separated by commas, but the first line is "login;email"/);
    assert.throws(() => readUserFile(Buffer.from([0x6c, 0x6f, 0x67, 0x69, 0x6e, 0x0a, 0xe9, 0x0a])), /not UTF-8/);
  });

  it('accepts any column order and case, with or without a BOM', () => {
    const verdicts = judge('\uFEFFResources,LOGIN,email\nvpn;WIKI,Alice,Alice@Example.com');
    assert.deepEqual(verdicts, [{ user: { line: 2, login: 'Alice', email: 'alice@example.com', resourceIds: ['id-vpn', 'id-wiki'] } }]);
  });

  it('judges each row as the users API does and reports bad rows by line with an actionable message', () => {
    const text = [
      'login,email,phone,firstName,resources',
      'good,good@example.com,+14155550123,Ann,vpn',
      'bad-mail,not-an-email,,,',
      'bad-phone,,0612345678,,',
      'GOOD,,,,',
      'x-res,,,,vpn;nope',
      `long,,,${'n'.repeat(101)},`,
      'nul,,,a\u0000b,',
      ',,,,',
      'few,fields',
      'has space,,,,',
    ].join('\n');
    const byLine = new Map(judge(text).map((v) => ['user' in v ? v.user.line : v.line, 'user' in v ? 'ok' : v.message]));
    assert.equal(byLine.get(2), 'ok');
    assert.match(byLine.get(3)!, /^email "not-an-email": Enter a valid email address/);
    assert.match(byLine.get(4)!, /^phone "0612345678": Enter the number in international format/);
    assert.equal(byLine.get(5), 'the login "GOOD" is already on line 2 of this file.');
    assert.equal(byLine.get(6), 'unknown resource "nope"; create it first or correct its name.');
    assert.match(byLine.get(7)!, /firstName is too long \(101 characters, at most 100\)/);
    assert.match(byLine.get(8)!, /"firstName" contains a NUL byte/);
    assert.equal(byLine.get(9), 'the login is empty.');
    assert.match(byLine.get(10)!, /2 fields, the header has 5/);
    assert.match(byLine.get(11)!, /^login "has space": Use letters, digits/);
  });
});
