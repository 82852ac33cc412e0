/** The RADIUS connector with a real RADIUS client, Debian's radclient (freeradius-utils), in front of the real service. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { radclient, radiusStack, totpAt, PASSWORD, type Connector, type RadiusStack } from '../helpers/radius';

describe('radius: radclient', () => {
  let stack: RadiusStack;
  let otp: Connector;
  let challenge: Connector;
  before(async () => {
    stack = await radiusStack();
    otp = await stack.connector('otp');
    challenge = await stack.connector('challenge');
  });
  after(() => stack.close());

  it('an Access-Request with a fresh TOTP code gets Access-Accept through the connector and the service', async () => {
    const user = await stack.user();
    const { output } = await radclient(otp.port, { 'User-Name': user.login, 'User-Password': totpAt() });
    assert.match(output, /Received Access-Accept/, output);
    assert.match(output, /Message-Authenticator/, 'the answer carries a Message-Authenticator');
    const audit = await stack.ctx.services.db('audit_events').where({ tenant_id: stack.tenant.tenantId, action: 'authenticate', target_id: user.id });
    assert.deepEqual(audit.map((e) => e.details.reason), ['ok'], 'the service made the decision');
  });

  it('a wrong code gets Access-Reject', async () => {
    const user = await stack.user();
    const { output } = await radclient(otp.port, { 'User-Name': user.login, 'User-Password': '000000' });
    assert.match(output, /Received Access-Reject/, output);
  });

  it('challenge mode: the password gets Access-Challenge with a State and a Reply-Message', async () => {
    const user = await stack.user();
    const { output } = await radclient(challenge.port, { 'User-Name': user.login, 'User-Password': PASSWORD });
    assert.match(output, /Received Access-Challenge/, output);
    assert.match(output, /State = 0x[0-9a-f]{32}/, output);
    assert.match(output, /Reply-Message = "Enter the code from your authenticator"/, output);
  });

  it('a wrong shared secret gets no answer at all', async () => {
    const user = await stack.user();
    const { output } = await radclient(otp.port, { 'User-Name': user.login, 'User-Password': totpAt() }, 'not-the-shared-secret-at-all');
    assert.doesNotMatch(output, /Received/, output);
    assert.match(output, /No reply from server/i, output);
  });
});
