// Vector similarity through the official SDK: vectors travel as JSON lists in
// create/getOne, and `nearest` (our own path) is reached with pb.send, under the
// same rules as a list.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { client, expectError, suffix, superuserClient } from './helpers.mjs';

const RUN = suffix();
const ITEMS = `items_${RUN}`;

const s = {};

describe('vectors', () => {
  before(async () => {
    s.admin = await superuserClient();
    await s.admin.collections.create({
      name: ITEMS,
      listRule: 'public = true',
      viewRule: 'public = true',
      fields: [
        { name: 'name', type: 'text' },
        { name: 'public', type: 'bool' },
        { name: 'embedding', type: 'vector', dimensions: 3 },
      ],
    });
    const items = [
      ['east', [1, 0, 0], true],
      ['north-east', [0.7, 0.7, 0], true],
      ['north', [0, 1, 0], true],
      ['hidden east', [0.99, 0.01, 0], false],
      ['up', [0, 0, 1], true],
    ];
    s.ids = {};
    for (const [name, embedding, isPublic] of items) {
      const made = await s.admin.collection(ITEMS).create({ name, embedding, public: isPublic });
      s.ids[name] = made.id;
    }
    s.guest = client();
  });

  test('a vector reads back as it was written', async () => {
    const got = await s.guest.collection(ITEMS).getOne(s.ids['north-east']);
    assert.deepEqual(got.embedding, [0.7, 0.7, 0]);
  });

  test('nearest by vector, under the list rule', async () => {
    const answer = await s.guest.send(`/api/collections/${ITEMS}/nearest`, {
      method: 'POST',
      body: { field: 'embedding', vector: [1, 0.1, 0], k: 3 },
    });
    assert.equal(answer.metric, 'cosine');
    assert.deepEqual(
      answer.items.map((i) => i.record.name),
      ['east', 'north-east', 'north'],
    );
    const admin = await s.admin.send(`/api/collections/${ITEMS}/nearest`, {
      method: 'POST',
      body: { field: 'embedding', vector: [1, 0.1, 0], k: 2 },
    });
    assert.deepEqual(
      admin.items.map((i) => i.record.name),
      ['hidden east', 'east'],
    );
  });

  test('similar records, with a filter, by GET', async () => {
    const answer = await s.guest.send(`/api/collections/${ITEMS}/nearest`, {
      query: { field: 'embedding', record: s.ids.east, k: 5, metric: 'l2', filter: "name != 'up'" },
    });
    assert.deepEqual(
      answer.items.map((i) => i.record.name),
      ['north-east', 'north'],
    );
  });

  test('a record the rule hides is no query for a guest', async () => {
    await expectError(
      s.guest.send(`/api/collections/${ITEMS}/nearest`, {
        query: { field: 'embedding', record: s.ids['hidden east'] },
      }),
      404,
    );
  });

  test('bad vectors are a 400', async () => {
    await expectError(s.admin.collection(ITEMS).create({ name: 'x', embedding: [1, 2] }), 400);
    await expectError(
      s.guest.send(`/api/collections/${ITEMS}/nearest`, {
        method: 'POST',
        body: { field: 'embedding', vector: [1, 'a', 0] },
      }),
      400,
    );
  });
});
