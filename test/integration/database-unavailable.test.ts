/**
 * isDatabaseUnavailable (src/db/errors.ts) against the errors the drivers really raise: a refused
 * connection, a backend terminated by the server (57P01, what a PostgreSQL restart does to open
 * connections), a pool acquire timeout; and not against the errors of a bad query.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pg from 'pg';
import knexFactory from 'knex';
import { createDb, type Db } from '../../src/db/knex';
import { isDatabaseUnavailable } from '../../src/db/errors';
import { testDatabaseUrl } from '../helpers/env';

async function errorOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('isDatabaseUnavailable', () => {
  let db: Db;
  before(() => {
    db = createDb(testDatabaseUrl(), 2);
  });
  after(() => db.destroy());

  it('recognises a refused connection (knex over a closed port)', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const closed = createDb(`postgres://postgres@127.0.0.1:${port}/nowhere`, 1);
    try {
      assert.equal(isDatabaseUnavailable(await errorOf(() => closed.raw('select 1'))), true);
    } finally {
      await closed.destroy();
    }
  });

  it('recognises a backend terminated by the server (57P01) and the dead connection afterwards', async () => {
    const client = new pg.Client({ connectionString: testDatabaseUrl(), application_name: `outage-${process.pid}` });
    client.on('error', () => undefined); // the terminated socket also reports here
    await client.connect();
    const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid;
    const sleeping = errorOf(() => client.query('select pg_sleep(30)'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await db.raw('select pg_terminate_backend(?)', [pid]); // our own backend only
    const terminated = (await sleeping) as { code?: string };
    assert.equal(terminated.code, '57P01');
    assert.equal(isDatabaseUnavailable(terminated), true);
    assert.equal(isDatabaseUnavailable(await errorOf(() => client.query('select 1'))), true);
    await client.end().catch(() => undefined);
  });

  it('recognises a pool acquire timeout', async () => {
    const small = knexFactory({ client: 'pg', connection: testDatabaseUrl(), pool: { min: 0, max: 1 }, acquireConnectionTimeout: 300 });
    try {
      await small.transaction(async (trx) => {
        await trx.raw('select 1');
        // The only connection is held by this transaction: the next query waits, then times out.
        const err = await errorOf(() => small.raw('select 1'));
        assert.equal((err as Error).name, 'KnexTimeoutError');
        assert.equal(isDatabaseUnavailable(err), true);
      });
    } finally {
      await small.destroy();
    }
  });

  it('does not take a bad query, a constraint or an ordinary error for an outage', async () => {
    assert.equal(isDatabaseUnavailable(await errorOf(() => db.raw('select from'))), false);
    assert.equal(isDatabaseUnavailable(await errorOf(() => db.raw("select 'a'::int"))), false);
    assert.equal(isDatabaseUnavailable(await errorOf(() => db.raw('select ?::text', ['a\u0000b']))), false);
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' })), false);
    assert.equal(isDatabaseUnavailable(new Error('boom')), false);
    assert.equal(isDatabaseUnavailable(undefined), false);
    assert.equal(isDatabaseUnavailable('ECONNREFUSED'), false);
  });
});
