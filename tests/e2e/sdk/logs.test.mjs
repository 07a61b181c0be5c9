// The SDK's logs API (pb.logs.getList/getOne/getStats/truncate) against `keelbase serve`:
// a failed request shows up as an error entry within the writer's flush interval.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { DATETIME, client, expectError, signUpAndIn, suffix, superuserClient } from './helpers.mjs';

const RUN = suffix();
const MISSING = `missing_${RUN}`;
const MARKER = `data.url ~ "${MISSING}"`;

const s = {};

/** The entries matching `filter`, once `count` of them were written (entries are batched). */
async function waitForEntries(pb, filter, count) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const page = await pb.logs.getList(1, 50, { filter, sort: '-@rowid' });
    if (page.items.length >= count || Date.now() > deadline) return page;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('logs', () => {
  before(async () => {
    s.admin = await superuserClient();
    s.user = await signUpAndIn('logreader');
    await expectError(client().collection(MISSING).getList(1, 1), 404);
  });

  test('getList finds the failed request with its PocketBase fields', async () => {
    const page = await waitForEntries(s.admin, MARKER, 1);
    assert.equal(page.items.length, 1, JSON.stringify(page));
    assert.equal(page.totalItems, 1);
    const [entry] = page.items;
    assert.equal(entry.level, 8);
    assert.match(entry.created, DATETIME);
    assert.equal(entry.message, `GET /api/collections/${MISSING}/records?page=1&perPage=1`);
    assert.equal(entry.data.type, 'request');
    assert.equal(entry.data.method, 'GET');
    assert.equal(entry.data.status, 404);
    assert.equal(entry.data.auth, '');
    assert.equal(typeof entry.data.execTime, 'number');
    assert.ok(entry.data.error);
    assert.match(entry.data.requestId, /^[A-Za-z0-9._:-]+$/);
    s.entry = entry;
  });

  test('getOne returns the same entry, and 404 for a missing one', async () => {
    const one = await s.admin.logs.getOne(s.entry.id);
    assert.deepEqual(one, s.entry);
    await expectError(s.admin.logs.getOne(`nope${RUN}`), 404);
  });

  test('getStats counts the entry in its hour', async () => {
    const stats = await s.admin.logs.getStats({ filter: MARKER });
    assert.equal(stats.length, 1, JSON.stringify(stats));
    assert.match(stats[0].date, /^\d{4}-\d{2}-\d{2} \d{2}:00:00\.000Z$/);
    assert.equal(stats[0].total, 1);
    assert.equal(s.entry.created.slice(0, 13), stats[0].date.slice(0, 13));
  });

  test('only superusers read logs; a bad filter is a 400', async () => {
    await expectError(client().logs.getList(1, 1), 401);
    await expectError(s.user.pb.logs.getList(1, 1), 403);
    await expectError(s.user.pb.logs.getStats(), 403);
    await expectError(s.admin.logs.getList(1, 1, { filter: 'level >>' }), 400);
    await expectError(s.admin.logs.getStats({ filter: 'nope = 1' }), 400);
  });

  test('truncate deletes every entry', async () => {
    assert.equal(await s.admin.logs.truncate(), true);
    const page = await s.admin.logs.getList(1, 1, { filter: MARKER });
    assert.equal(page.totalItems, 0);
  });
});
