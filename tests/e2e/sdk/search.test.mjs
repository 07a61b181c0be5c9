// Full-text search and aggregates through the official SDK: the `search(...)`
// function travels in getList's `filter`, `-@rank` in its `sort`, and the
// aggregate endpoint (our own path) is reached with pb.send.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import { client, expectError, suffix, superuserClient } from './helpers.mjs';

const RUN = suffix();
const BOOKS = `books_${RUN}`;

const s = {};

describe('search and aggregates', () => {
  before(async () => {
    s.admin = await superuserClient();
    // The option is a key PocketBase ignores: the SDK passes it through and back.
    s.books = await s.admin.collections.create({
      name: BOOKS,
      listRule: 'public = true',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'blurb', type: 'editor' },
        { name: 'genre', type: 'text' },
        { name: 'pages', type: 'number' },
        { name: 'public', type: 'bool' },
      ],
      search: { fields: ['title', 'blurb'] },
    });
    const books = [
      ['The Foo Guide', '<p>foo and foo again</p>', 'howto', 120, true],
      ['Bar Tales', '<p>a story with foo in it</p>', 'fiction', 300, true],
      ['Foo Secrets', '<p>not for guests</p>', 'howto', 80, false],
      ['Baz', '<p>nothing here</p>', 'fiction', 200, true],
    ];
    for (const [title, blurb, genre, pages, isPublic] of books) {
      await s.admin.collection(BOOKS).create({ title, blurb, genre, pages, public: isPublic });
    }
    s.guest = client();
  });

  test('the collection keeps its search option', async () => {
    const got = await s.admin.collections.getOne(BOOKS);
    assert.deepEqual(got.search, { fields: ['title', 'blurb'] });
  });

  test("getList with filter search('foo'), most relevant first, under the list rule", async () => {
    const page = await s.guest
      .collection(BOOKS)
      .getList(1, 20, { filter: "search('foo')", sort: '-@rank' });
    assert.equal(page.totalItems, 2);
    assert.deepEqual(
      page.items.map((b) => b.title),
      ['The Foo Guide', 'Bar Tales'],
    );
    const all = await s.admin.collection(BOOKS).getList(1, 20, { filter: "search('foo')" });
    assert.equal(all.totalItems, 3);
  });

  test('search with a bound value and another condition', async () => {
    const filter = s.guest.filter('search(title, {:q}) && pages > 100', { q: 'foo' });
    const page = await s.guest.collection(BOOKS).getList(1, 20, { filter });
    assert.deepEqual(
      page.items.map((b) => b.title),
      ['The Foo Guide'],
    );
  });

  test('hostile search text is a 400, never a 500', async () => {
    await expectError(s.guest.collection(BOOKS).getList(1, 20, { filter: "search('\"*')" }), 400);
    const page = await s.guest
      .collection(BOOKS)
      .getList(1, 20, { filter: `search('foo" OR "* NEAR(x)')` });
    assert.equal(page.totalItems, 0);
  });

  test('aggregate through pb.send, under the list rule', async () => {
    const query = { groupBy: 'genre', sum: 'pages', avg: 'pages' };
    const guest = await s.guest.send(`/api/collections/${BOOKS}/aggregate`, { query });
    assert.deepEqual(guest.items, [
      { group: { genre: 'fiction' }, count: 2, sum: { pages: 500 }, avg: { pages: 250 } },
      { group: { genre: 'howto' }, count: 1, sum: { pages: 120 }, avg: { pages: 120 } },
    ]);
    const admin = await s.admin.send(`/api/collections/${BOOKS}/aggregate`, {
      query: { sum: 'pages', filter: "search('foo')" },
    });
    assert.deepEqual(admin.items, [{ count: 3, sum: { pages: 500 } }]);
    await expectError(
      s.guest.send(`/api/collections/${BOOKS}/aggregate`, { query: { sum: 'title' } }),
      400,
    );
  });
});
