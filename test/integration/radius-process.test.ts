/**
 * The connector as the Procfile's `radius` role runs it: a separate process that checks its
 * configuration at start, serves /healthz, answers through the real service, and on SIGTERM
 * answers the requests in flight before it exits 0.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/wait';
import { killAllChildren, waitForHealthy, spawnRole, terminate } from '../helpers/processes';
import { accessRequest, exchange, radiusStack, PASSWORD, SECRET, type RadiusStack } from '../helpers/radius';

describe('radius process', () => {
  let stack: RadiusStack;
  before(async () => {
    stack = await radiusStack();
  });
  after(async () => {
    await killAllChildren();
    await stack.close();
  });

  it('refuses to start with a clear message naming what is wrong', async () => {
    const child = spawnRole('radius', { RADIUS_API_URL: 'not a url', RADIUS_CLIENTS: '10.0.0.1:short', RADIUS_API_KEY: '', RADIUS_RESOURCE_ID: '' });
    assert.equal(await child.exited, 1);
    assert.match(child.output(), /Invalid RADIUS connector configuration/);
    assert.match(child.output(), /RADIUS_API_URL/);
    assert.match(child.output(), /RADIUS_RESOURCE_ID/);
    assert.doesNotMatch(child.output(), /at .*\.(ts|js):\d+/, 'no stack trace');
  });

  it('answers through the service, serves /healthz, and on SIGTERM answers the request in flight, then exits 0', async () => {
    const [port, httpPort] = [await freePort(), await freePort()];
    const child = spawnRole('radius', {
      RADIUS_HOST: '127.0.0.1',
      RADIUS_PORT: String(port),
      RADIUS_HTTP_PORT: String(httpPort),
      RADIUS_API_URL: stack.apiUrl,
      RADIUS_API_KEY: stack.tenant.apiKey,
      RADIUS_RESOURCE_ID: stack.resourceId,
      RADIUS_CLIENTS: `127.0.0.1:${SECRET}`,
      RADIUS_MODE: 'challenge',
      LOG_LEVEL: 'info',
    });
    await waitForHealthy(child, httpPort, 30_000);

    const user = await stack.user();
    const [first] = await exchange(port, [accessRequest([['User-Name', user.login], ['User-Password', PASSWORD]])]);
    assert.equal(first?.code, 'Access-Challenge');

    // The next request is in flight (a password hash and an API call) when SIGTERM arrives.
    const other = await stack.user('email');
    const pending = exchange(port, [accessRequest([['User-Name', other.login], ['User-Password', PASSWORD]])], { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 30));
    const { code } = await terminate(child, 10_000);
    assert.equal(code, 0, child.output());
    const [answered] = await pending;
    assert.equal(answered?.code, 'Access-Challenge', `the request in flight was answered:\n${child.output()}`);

    const logs = child.output();
    assert.match(logs, /"msg":"radius connector started"/);
    assert.doesNotMatch(logs, new RegExp(PASSWORD), 'no password in the logs');
    assert.doesNotMatch(logs, new RegExp(SECRET), 'no shared secret in the logs');
    assert.doesNotMatch(logs, new RegExp(stack.tenant.apiKey), 'no API key in the logs');
  });
});
