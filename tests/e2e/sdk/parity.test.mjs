// The SDK methods of the second parity round against `keelbase serve`:
// collections.dryRunViewQuery, sql.run, crons.getFullList/run.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { client, expectError, superuserClient } from './helpers.mjs';

const s = {};

describe('parity endpoints through the SDK', () => {
  before(async () => {
    s.admin = await superuserClient();
  });

  test('dryRunViewQuery answers fields and a sample', async () => {
    const result = await s.admin.collections.dryRunViewQuery('select id, email from users');
    assert.deepEqual(
      result.fields.map((f) => [f.name, f.type]),
      [['id', 'text'], ['email', 'email']],
    );
    assert.ok(Array.isArray(result.sample));
    await expectError(s.admin.collections.dryRunViewQuery(''), 400);
    await expectError(client().collections.dryRunViewQuery('select 1 as id'), 401);
  });

  test('sql.run reads, and refuses writes', async () => {
    const result = await s.admin.sql.run('select 1 as a, null as b');
    assert.deepEqual(result.columns.map((c) => c.name), ['a', 'b']);
    assert.deepEqual(result.rows, [['1', null]]);
    await expectError(s.admin.sql.run('delete from users'), 400);
  });

  test('crons lists the system jobs and runs one', async () => {
    const jobs = await s.admin.crons.getFullList();
    const ids = jobs.map((j) => j.id);
    for (const id of ['__pbDBOptimize__', '__pbMFACleanup__', '__pbOTPCleanup__']) {
      assert.ok(ids.includes(id), id);
    }
    assert.equal(await s.admin.crons.run('__pbOTPCleanup__'), true);
  });
});
