/**
 * The connector's API client batches the checks that arrive together. A small HTTP server records
 * what the client sends; the real service behind it is covered by the radius-* integration tests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiUnavailableError, createApiClient, type ApiClient } from '../../src/radius/api-client';

describe('radius api client', () => {
  let server: http.Server;
  let client: ApiClient;
  const seen: Array<{ path: string; body: { checks?: Array<{ login: string; otp?: string }> } }> = [];
  /** What the stand-in answers: by default each check accepted when its otp is "111111". */
  let reply: (body: { checks: Array<{ otp?: string }> }) => { status: number; json: unknown } = (body) => ({
    status: 200,
    json: { results: body.checks.map((c) => (c.otp === '111111' ? { result: true } : { result: false })) },
  });

  before(async () => {
    server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', () => {
        const body = JSON.parse(text);
        seen.push({ path: req.url ?? '', body });
        const { status, json } = reply(body);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    client = createApiClient({ apiUrl: `http://127.0.0.1:${port}`, apiKey: 'k', resourceId: 'r1', timeoutMs: 2000 });
  });
  after(async () => {
    client.close();
    await new Promise((r) => server.close(r));
  });

  it('sends the checks of one event-loop turn as one batch and hands each its own verdict, in order', async () => {
    seen.length = 0;
    const verdicts = await Promise.all(Array.from({ length: 30 }, (_, i) => client.authenticate({ login: `u${i}`, otp: i % 3 === 0 ? '111111' : '000000' })));
    assert.equal(seen.length, 1, 'one HTTP request');
    assert.equal(seen[0]!.path, '/api/v1/resources/r1/authenticate/batch');
    assert.deepEqual(seen[0]!.body.checks!.map((c) => c.login), Array.from({ length: 30 }, (_, i) => `u${i}`));
    assert.deepEqual(verdicts.map((v) => v.kind), Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 'accept' : 'reject')));
  });

  it('splits more than 100 checks into batches of at most 100', async () => {
    seen.length = 0;
    const verdicts = await Promise.all(Array.from({ length: 250 }, (_, i) => client.authenticate({ login: `u${i}`, otp: '111111' })));
    assert.deepEqual(seen.map((s) => s.body.checks!.length).sort((a, b) => a - b), [50, 100, 100]);
    assert.ok(verdicts.every((v) => v.kind === 'accept'));
  });

  it('a check arriving later goes in the next batch', async () => {
    seen.length = 0;
    const first = client.authenticate({ login: 'a', otp: '111111' });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const second = client.authenticate({ login: 'b', otp: '000000' });
    assert.deepEqual([(await first).kind, (await second).kind], ['accept', 'reject']);
    assert.equal(seen.length, 2);
  });

  it('a 5xx or a malformed answer gives no verdict to any check of the batch (the NAS retries)', async () => {
    const saved = reply;
    try {
      reply = () => ({ status: 503, json: { error: { code: 'unavailable' } } });
      const failed = await Promise.allSettled([client.authenticate({ login: 'a', otp: '1' }), client.authenticate({ login: 'b', otp: '1' })]);
      assert.ok(failed.every((f) => f.status === 'rejected' && f.reason instanceof ApiUnavailableError));
      reply = () => ({ status: 200, json: { results: [{ result: true }] } }); // one result for two checks
      const short = await Promise.allSettled([client.authenticate({ login: 'a', otp: '1' }), client.authenticate({ login: 'b', otp: '1' })]);
      assert.ok(short.every((f) => f.status === 'rejected' && f.reason instanceof ApiUnavailableError), 'never a verdict guessed from a short answer');
    } finally {
      reply = saved;
    }
  });

  it('a refused batch (422) is a reject for each check, as a refused single check is', async () => {
    const saved = reply;
    try {
      reply = () => ({ status: 422, json: { error: { code: 'validation_failed' } } });
      const verdicts = await Promise.all([client.authenticate({ login: 'a', otp: '1' }), client.authenticate({ login: 'b', otp: '1' })]);
      assert.deepEqual(verdicts.map((v) => v.kind), ['reject', 'reject']);
    } finally {
      reply = saved;
    }
  });
});
