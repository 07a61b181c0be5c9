// The SDK's batch API (pb.createBatch() ... batch.send()) against `keelbase serve`,
// after a superuser enables batch requests through pb.settings.update().

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import {
  DATETIME,
  RECORD_ID,
  client,
  expectError,
  signUpAndIn,
  suffix,
  superuserClient,
} from './helpers.mjs';

const RUN = suffix();
const TASKS = `tasks_${RUN}`;
const OWN = 'owner = @request.auth.id';

const s = {};

/** Every task of user u, sorted by title. */
async function titles(u) {
  const all = await u.pb.collection(TASKS).getFullList({ sort: 'title' });
  return all.map((t) => t.title);
}

describe('batch requests', () => {
  before(async () => {
    s.admin = await superuserClient();
    const users = await s.admin.collections.getOne('users');
    s.tasks = await s.admin.collections.create({
      name: TASKS,
      type: 'base',
      listRule: OWN,
      viewRule: OWN,
      createRule: `@request.auth.id != "" && ${OWN}`,
      updateRule: OWN,
      deleteRule: OWN,
      fields: [
        { name: 'title', type: 'text', required: true },
        { name: 'owner', type: 'relation', collectionId: users.id, maxSelect: 1, required: true },
        { name: 'done', type: 'bool' },
        { name: 'created', type: 'autodate', onCreate: true },
      ],
    });
    s.u1 = await signUpAndIn('batcher');
    s.u2 = await signUpAndIn('intruder');
  });

  test('a batch is a 403 while batch requests are disabled', async () => {
    await s.admin.settings.update({ batch: { enabled: false } });
    const batch = s.u1.pb.createBatch();
    batch.collection(TASKS).create({ title: 'never', owner: s.u1.id });
    const err = await expectError(batch.send(), 403);
    assert.deepEqual(err.response.data, {});
    assert.deepEqual(await titles(s.u1), []);
  });

  test('only superusers read and change the settings', async () => {
    await expectError(client().settings.getAll(), 401);
    await expectError(s.u1.pb.settings.update({ batch: { enabled: true } }), 403);
  });

  test('pb.settings.update enables batch requests', async () => {
    const settings = await s.admin.settings.update({ batch: { enabled: true, maxRequests: 50 } });
    assert.equal(settings.batch.enabled, true);
    assert.equal(settings.batch.maxRequests, 50);
    assert.equal(typeof settings.batch.timeout, 'number');
    assert.ok(settings.batch.timeout > 0, 'a partial update keeps the other batch settings');
    const all = await s.admin.settings.getAll();
    assert.equal(all.batch.enabled, true);
    assert.equal(all.batch.maxRequests, 50);
    assert.equal(typeof all.meta?.appName, 'string');
  });

  test('creates in one batch answer [{status, body}] in order', async () => {
    const batch = s.u1.pb.createBatch();
    for (const title of ['one', 'two', 'three']) {
      batch.collection(TASKS).create({ title, owner: s.u1.id });
    }
    const results = await batch.send();
    assert.equal(results.length, 3);
    for (const [i, title] of ['one', 'two', 'three'].entries()) {
      assert.equal(results[i].status, 200);
      assert.match(results[i].body.id, RECORD_ID);
      assert.equal(results[i].body.title, title);
      assert.equal(results[i].body.owner, s.u1.id);
      assert.equal(results[i].body.done, false);
      assert.equal(results[i].body.collectionName, TASKS);
      assert.match(results[i].body.created, DATETIME);
    }
    s.ids = Object.fromEntries(results.map((r) => [r.body.title, r.body.id]));
    assert.deepEqual(await titles(s.u1), ['one', 'three', 'two']);
  });

  test('update, delete and upsert in one batch', async () => {
    const batch = s.u1.pb.createBatch();
    const tasks = batch.collection(TASKS);
    tasks.update(s.ids.one, { done: true });
    tasks.delete(s.ids.two);
    tasks.upsert({ id: s.ids.three, title: 'three (upserted)', owner: s.u1.id });
    tasks.upsert({ title: 'four', owner: s.u1.id });
    const results = await batch.send();
    assert.equal(results.length, 4);
    assert.equal(results[0].status, 200);
    assert.equal(results[0].body.done, true);
    assert.equal(results[1].status, 204);
    assert.equal(results[2].status, 200);
    assert.equal(results[2].body.id, s.ids.three);
    assert.equal(results[2].body.title, 'three (upserted)');
    assert.equal(results[3].status, 200);
    assert.match(results[3].body.id, RECORD_ID);
    assert.deepEqual(await titles(s.u1), ['four', 'one', 'three (upserted)']);
  });

  test('expand and fields apply to each sub-request', async () => {
    const batch = s.u1.pb.createBatch();
    batch
      .collection(TASKS)
      .create(
        { title: 'five', owner: s.u1.id },
        { expand: 'owner', fields: 'id,title,expand.owner.id' },
      );
    const [result] = await batch.send();
    assert.equal(result.status, 200);
    assert.deepEqual(Object.keys(result.body).sort(), ['expand', 'id', 'title']);
    assert.deepEqual(result.body.expand, { owner: { id: s.u1.id } });
  });

  test('a failing sub-request rolls the whole batch back', async () => {
    const before = await titles(s.u1);
    const batch = s.u1.pb.createBatch();
    batch.collection(TASKS).create({ title: 'six', owner: s.u1.id });
    batch.collection(TASKS).create({ owner: s.u1.id });
    const err = await expectError(batch.send(), 400);
    assert.equal(err.response.message, 'Batch transaction failed.');
    const failed = err.response.data.requests?.['1'];
    assert.ok(failed, JSON.stringify(err.response.data));
    assert.equal(failed.code, 'batch_request_failed');
    assert.equal(typeof failed.message, 'string');
    assert.equal(failed.response?.status, 400);
    assert.equal(failed.response?.data?.title?.code, 'validation_required');
    assert.equal(err.response.data.requests['0'], undefined);
    assert.deepEqual(await titles(s.u1), before, 'nothing of the batch was kept');
  });

  test("api rules apply inside a batch: user2 cannot touch user1's tasks", async () => {
    const batch = s.u2.pb.createBatch();
    batch.collection(TASKS).create({ title: 'mine', owner: s.u2.id });
    batch.collection(TASKS).update(s.ids.one, { title: 'hijacked' });
    const err = await expectError(batch.send(), 400);
    const failed = err.response.data.requests?.['1'];
    assert.equal(failed?.code, 'batch_request_failed');
    assert.equal(failed?.response?.status, 404);
    assert.deepEqual(await titles(s.u2), []);
    const one = await s.u1.pb.collection(TASKS).getOne(s.ids.one);
    assert.equal(one.title, 'one');

    const forged = s.u2.pb.createBatch();
    forged.collection(TASKS).create({ title: 'forged', owner: s.u1.id });
    await expectError(forged.send(), 400);
    assert.ok(!(await titles(s.u1)).includes('forged'));
  });

  test('maxRequests limits the batch size', async () => {
    await s.admin.settings.update({ batch: { maxRequests: 2 } });
    try {
      const batch = s.u1.pb.createBatch();
      for (const title of ['a', 'b', 'c']) batch.collection(TASKS).create({ title, owner: s.u1.id });
      const err = await expectError(batch.send(), 400);
      assert.equal(err.response.data.requests?.code, 'validation_length_too_long');
      assert.ok(!(await titles(s.u1)).includes('a'));
    } finally {
      await s.admin.settings.update({ batch: { maxRequests: 50 } });
    }
  });

  test('an empty batch is a validation error', async () => {
    const err = await expectError(s.u1.pb.createBatch().send(), 400);
    assert.equal(err.response.data.requests?.code, 'validation_required');
  });
});
