// The official PocketBase JS SDK against a real `keelbase serve`: superuser and
// user auth, collections with rules and relations, records CRUD, list queries,
// per-user isolation through API rules, the auth store and error shapes.
//
// Run through tests/e2e/test_js_sdk.py (it starts the server and sets KB_URL,
// KB_ADMIN_EMAIL and KB_ADMIN_PASSWORD), or by hand:
//   KB_URL=http://127.0.0.1:8090 KB_ADMIN_EMAIL=... KB_ADMIN_PASSWORD=... node --test tests/e2e/sdk/

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';

import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  ClientResponseError,
  DATETIME,
  RECORD_ID,
  client,
  expectError,
  signUpAndIn,
  suffix,
} from './helpers.mjs';

const RUN = suffix();
const POSTS = `posts_${RUN}`;
const COMMENTS = `comments_${RUN}`;
const OWN = 'author = @request.auth.id';
const CREATE_OWN = '@request.auth.id != "" && author = @request.auth.id';
const NOT_FOUND = "The requested resource wasn't found.";
const SUPERUSERS_ID = 'pbc_3142635823';
const PASSWORD = 'secret-pass-123';

/** Shared state: the steps below build on each other, in order. */
const s = {};

describe('superuser auth', () => {
  test('authWithPassword on _superusers fills the auth store', async () => {
    const pb = client();
    const auth = await pb.collection('_superusers').authWithPassword(ADMIN_EMAIL, ADMIN_PASSWORD);
    assert.equal(typeof auth.token, 'string');
    assert.equal(auth.token.split('.').length, 3, 'a JWT');
    assert.equal(auth.record.email, ADMIN_EMAIL);
    assert.equal(auth.record.collectionName, '_superusers');
    assert.equal(auth.record.collectionId, SUPERUSERS_ID);
    assert.match(auth.record.id, RECORD_ID);
    assert.match(auth.record.created, DATETIME);
    assert.equal(auth.record.password, undefined);
    assert.equal(auth.record.tokenKey, undefined);
    assert.equal(pb.authStore.token, auth.token);
    assert.equal(pb.authStore.record.id, auth.record.id);
    assert.equal(pb.authStore.isValid, true);
    assert.equal(pb.authStore.isSuperuser, true);
    s.admin = pb;
  });

  test('a wrong password is a 400 "Failed to authenticate."', async () => {
    const pb = client();
    const err = await expectError(
      pb.collection('_superusers').authWithPassword(ADMIN_EMAIL, 'not-the-password'),
      400,
    );
    assert.equal(err.response.message, 'Failed to authenticate.');
    assert.deepEqual(err.response.data, {});
    assert.equal(pb.authStore.isValid, false);
    assert.equal(pb.authStore.token, '');
  });

  test('a blank identity and password are validation errors', async () => {
    const err = await expectError(client().collection('_superusers').authWithPassword('', ''), 400);
    assert.equal(err.response.data.identity?.code, 'validation_required');
    assert.equal(err.response.data.password?.code, 'validation_required');
  });

  test('health check answers', async () => {
    const health = await client().health.check();
    assert.equal(health.code, 200);
    assert.equal(typeof health.message, 'string');
  });
});

describe('collections', () => {
  before(() => assert.ok(s.admin, 'needs the superuser client'));

  test('the users auth collection exists', async () => {
    const users = await s.admin.collections.getOne('users');
    assert.equal(users.name, 'users');
    assert.equal(users.type, 'auth');
    s.usersId = users.id;
  });

  test('create posts: fields, relation to users, select multi, autodate, rules', async () => {
    const posts = await s.admin.collections.create({
      name: POSTS,
      type: 'base',
      listRule: OWN,
      viewRule: OWN,
      createRule: CREATE_OWN,
      updateRule: OWN,
      deleteRule: OWN,
      fields: [
        { name: 'title', type: 'text', required: true, max: 200 },
        { name: 'body', type: 'text' },
        {
          name: 'author',
          type: 'relation',
          collectionId: s.usersId,
          maxSelect: 1,
          required: true,
          cascadeDelete: true,
        },
        {
          name: 'tags',
          type: 'select',
          maxSelect: 3,
          values: ['news', 'tech', 'life', 'misc'],
        },
        { name: 'created', type: 'autodate', onCreate: true, onUpdate: false },
        { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
      ],
    });
    assert.equal(typeof posts.id, 'string');
    assert.ok(posts.id.length > 0);
    assert.equal(posts.name, POSTS);
    assert.equal(posts.type, 'base');
    assert.equal(posts.system, false);
    assert.equal(posts.listRule, OWN);
    assert.equal(posts.viewRule, OWN);
    assert.equal(posts.createRule, CREATE_OWN);
    assert.equal(posts.updateRule, OWN);
    assert.equal(posts.deleteRule, OWN);
    assert.deepEqual(
      posts.fields.map((f) => f.name),
      ['id', 'title', 'body', 'author', 'tags', 'created', 'updated'],
    );
    const byName = Object.fromEntries(posts.fields.map((f) => [f.name, f]));
    assert.equal(byName.id.type, 'text');
    assert.equal(byName.id.primaryKey, true);
    assert.equal(byName.id.system, true);
    assert.equal(byName.title.required, true);
    assert.equal(byName.title.max, 200);
    assert.equal(byName.author.type, 'relation');
    assert.equal(byName.author.collectionId, s.usersId);
    assert.equal(byName.author.maxSelect, 1);
    assert.equal(byName.author.cascadeDelete, true);
    assert.deepEqual(byName.tags.values, ['news', 'tech', 'life', 'misc']);
    assert.equal(byName.tags.maxSelect, 3);
    assert.equal(byName.created.type, 'autodate');
    for (const field of posts.fields) {
      assert.equal(typeof field.id, 'string', `field ${field.name} has an id`);
      assert.ok(field.id.length > 0);
    }
    s.posts = posts;
  });

  test('create comments with a relation to posts', async () => {
    const comments = await s.admin.collections.create({
      name: COMMENTS,
      type: 'base',
      listRule: 'post.author = @request.auth.id',
      viewRule: 'post.author = @request.auth.id',
      createRule: '@request.auth.id != "" && author = @request.auth.id && post.author = @request.auth.id',
      updateRule: 'author = @request.auth.id',
      deleteRule: 'author = @request.auth.id',
      fields: [
        {
          name: 'post',
          type: 'relation',
          collectionId: s.posts.id,
          maxSelect: 1,
          required: true,
          cascadeDelete: true,
        },
        { name: 'author', type: 'relation', collectionId: s.usersId, maxSelect: 1 },
        { name: 'message', type: 'text', required: true },
        { name: 'created', type: 'autodate', onCreate: true },
      ],
    });
    assert.equal(comments.name, COMMENTS);
    const post = comments.fields.find((f) => f.name === 'post');
    assert.equal(post.collectionId, s.posts.id);
    s.comments = comments;
  });

  test('getOne, getFirstListItem and getFullList find the new collections', async () => {
    const byName = await s.admin.collections.getOne(POSTS);
    assert.equal(byName.id, s.posts.id);
    const byId = await s.admin.collections.getOne(s.posts.id);
    assert.equal(byId.name, POSTS);
    const first = await s.admin.collections.getFirstListItem(
      s.admin.filter('name = {:name}', { name: COMMENTS }),
    );
    assert.equal(first.id, s.comments.id);
    const all = await s.admin.collections.getFullList();
    const names = all.map((c) => c.name);
    assert.ok(names.includes(POSTS) && names.includes(COMMENTS) && names.includes('users'));
  });

  test(
    'a duplicate collection name is a validation error',
    async () => {
      const err = await expectError(
        s.admin.collections.create({ name: POSTS, type: 'base', fields: [] }),
        400,
      );
      assert.equal(err.response.data.name?.code, 'validation_collection_name_exists');
      assert.equal(err.response.data.id, undefined);
    },
  );

  test('an invalid rule is a validation error on that rule', async () => {
    const err = await expectError(
      s.admin.collections.create({
        name: `bad_rule_${RUN}`,
        type: 'base',
        listRule: 'no_such_field = 1',
        fields: [{ name: 'title', type: 'text' }],
      }),
      400,
    );
    assert.equal(typeof err.response.data.listRule?.code, 'string');
  });

  test('only superusers manage collections (401 guest, 403 user)', async () => {
    const guestErr = await expectError(client().collections.getList(1, 10), 401);
    assert.deepEqual(guestErr.response.data, {});
    const { pb } = await signUpAndIn('nosy');
    const userErr = await expectError(pb.collections.create({ name: `x_${RUN}` }), 403);
    assert.deepEqual(userErr.response.data, {});
  });
});

describe('users sign up and sign in', () => {
  test('two users sign up as guests and sign in', async () => {
    s.u1 = await signUpAndIn('alice');
    s.u2 = await signUpAndIn('bob');
    const { created } = s.u1;
    assert.match(created.id, RECORD_ID);
    assert.equal(created.collectionName, 'users');
    assert.equal(created.collectionId, s.usersId);
    assert.equal(created.name, 'alice');
    assert.equal(created.verified, false);
    assert.equal(created.emailVisibility, false);
    assert.equal(created.password, undefined);
    assert.equal(created.passwordConfirm, undefined);
    assert.equal(created.tokenKey, undefined);
    assert.match(created.created, DATETIME);
    for (const user of [s.u1, s.u2]) {
      const store = user.pb.authStore;
      assert.equal(store.isValid, true);
      assert.equal(store.isSuperuser, false);
      assert.equal(store.record.id, user.id);
      assert.equal(store.record.email, user.email, 'owners see their own email');
      assert.equal(store.record.collectionName, 'users');
    }
    assert.notEqual(s.u1.id, s.u2.id);
  });

  test('a mismatched passwordConfirm is a validation error', async () => {
    const err = await expectError(
      client().collection('users').create({
        email: `mismatch.${RUN}@example.com`,
        password: PASSWORD,
        passwordConfirm: 'something-else',
      }),
      400,
    );
    assert.equal(err.response.data.passwordConfirm?.code, 'validation_values_mismatch');
    assert.equal(typeof err.response.data.passwordConfirm?.message, 'string');
  });

  test('a taken email is a validation error', async () => {
    const err = await expectError(
      client().collection('users').create({
        email: s.u1.email,
        password: PASSWORD,
        passwordConfirm: PASSWORD,
      }),
      400,
    );
    assert.equal(err.response.data.email?.code, 'validation_not_unique');
  });

  test('a too short password is a validation error', async () => {
    const err = await expectError(
      client().collection('users').create({
        email: `short.${RUN}@example.com`,
        password: 'short',
        passwordConfirm: 'short',
      }),
      400,
    );
    assert.equal(err.response.data.password?.code, 'validation_min_text_constraint');
  });

  test('a wrong user password is a 400 and leaves the store empty', async () => {
    const pb = client();
    const err = await expectError(
      pb.collection('users').authWithPassword(s.u1.email, 'wrong-password'),
      400,
    );
    assert.equal(err.response.message, 'Failed to authenticate.');
    assert.equal(pb.authStore.isValid, false);
  });

  test('users only see themselves in the users collection', async () => {
    const list = await s.u1.pb.collection('users').getList(1, 50);
    assert.deepEqual(
      list.items.map((u) => u.id),
      [s.u1.id],
    );
    await expectError(s.u2.pb.collection('users').getOne(s.u1.id), 404);
  });
});

describe('records CRUD as a user', () => {
  before(() => assert.ok(s.posts && s.u1 && s.u2, 'needs collections and users'));

  test('create returns the new record', async () => {
    const post = await s.u1.pb.collection(POSTS).create({
      title: 'Hello world',
      body: 'First post',
      author: s.u1.id,
      tags: ['news'],
    });
    assert.match(post.id, RECORD_ID);
    assert.equal(post.collectionId, s.posts.id);
    assert.equal(post.collectionName, POSTS);
    assert.equal(post.title, 'Hello world');
    assert.equal(post.body, 'First post');
    assert.equal(post.author, s.u1.id);
    assert.deepEqual(post.tags, ['news']);
    assert.match(post.created, DATETIME);
    assert.match(post.updated, DATETIME);
    assert.equal(post.expand, undefined);
    s.hello = post;
  });

  test('create with expand returns the expanded relation', async () => {
    const post = await s.u1.pb
      .collection(POSTS)
      .create({ title: 'Alpha note', author: s.u1.id, tags: ['tech', 'news'] }, { expand: 'author' });
    assert.equal(post.expand?.author?.id, s.u1.id);
    assert.equal(post.expand.author.name, 'alice');
    s.alpha = post;
  });

  test('more posts for the list queries (one per user for bob)', async () => {
    const posts = s.u1.pb.collection(POSTS);
    s.beta = await posts.create({ title: 'Beta note', author: s.u1.id, tags: ['life'] });
    s.gamma = await posts.create({ title: 'Gamma note', author: s.u1.id });
    s.quoted = await posts.create({ title: 'It\'s "quoted"', author: s.u1.id, tags: ['misc'] });
    s.bobPost = await s.u2.pb.collection(POSTS).create({ title: 'Bob post', author: s.u2.id });
    assert.deepEqual(s.gamma.tags, []);
  });

  test('a missing required field is a validation error', async () => {
    const err = await expectError(
      s.u1.pb.collection(POSTS).create({ body: 'no title', author: s.u1.id }),
      400,
    );
    assert.equal(err.response.message, 'Failed to create record.');
    assert.equal(err.response.data.title?.code, 'validation_required');
    assert.equal(err.response.data.title?.message, 'Cannot be blank.');
  });

  test('an unknown select value is a validation error', async () => {
    const err = await expectError(
      s.u1.pb.collection(POSTS).create({ title: 'x', author: s.u1.id, tags: ['nope'] }),
      400,
    );
    assert.equal(err.response.data.tags?.code, 'validation_invalid_value');
  });

  test('the create rule refuses another author and guests', async () => {
    await expectError(
      s.u1.pb.collection(POSTS).create({ title: 'Forged', author: s.u2.id }),
      400,
    );
    await expectError(client().collection(POSTS).create({ title: 'Anon', author: s.u1.id }), 400);
  });

  test('getOne with expand and fields', async () => {
    const posts = s.u1.pb.collection(POSTS);
    const plain = await posts.getOne(s.hello.id);
    assert.equal(plain.title, 'Hello world');
    assert.equal(plain.created, s.hello.created);

    const expanded = await posts.getOne(s.hello.id, { expand: 'author' });
    assert.equal(expanded.expand.author.id, s.u1.id);
    assert.equal(expanded.expand.author.collectionName, 'users');

    const picked = await posts.getOne(s.hello.id, { fields: 'id,title' });
    assert.deepEqual(picked, { id: s.hello.id, title: 'Hello world' });

    const nested = await posts.getOne(s.hello.id, {
      expand: 'author',
      fields: 'id,expand.author.name',
    });
    assert.deepEqual(nested, { id: s.hello.id, expand: { author: { name: 'alice' } } });
  });

  test('getOne of a missing id is a 404', async () => {
    const err = await expectError(s.u1.pb.collection(POSTS).getOne('missingid123456'), 404);
    assert.equal(err.response.message, NOT_FOUND);
    assert.deepEqual(err.response.data, {});
  });

  test('getList pages, sorts and counts', async () => {
    const posts = s.u1.pb.collection(POSTS);
    const page1 = await posts.getList(1, 2, { sort: 'title' });
    assert.equal(page1.page, 1);
    assert.equal(page1.perPage, 2);
    assert.equal(page1.totalItems, 5);
    assert.equal(page1.totalPages, 3);
    assert.deepEqual(
      page1.items.map((p) => p.title),
      ['Alpha note', 'Beta note'],
    );
    const page3 = await posts.getList(3, 2, { sort: 'title' });
    assert.deepEqual(
      page3.items.map((p) => p.title),
      ['It\'s "quoted"'],
    );
    const skipped = await posts.getList(1, 2, { sort: 'title', skipTotal: true });
    assert.equal(skipped.totalItems, -1);
    assert.equal(skipped.totalPages, -1);
    assert.equal(skipped.items.length, 2);
  });

  test('getList with a pb.filter() filter, sort, expand and fields', async () => {
    const pb = s.u1.pb;
    const list = await pb.collection(POSTS).getList(1, 10, {
      filter: pb.filter('title ~ {:t}', { t: 'note' }),
      sort: '-title',
      expand: 'author',
      fields: 'id,title,expand.author.id',
    });
    assert.equal(list.totalItems, 3);
    assert.deepEqual(
      list.items.map((p) => p.title),
      ['Gamma note', 'Beta note', 'Alpha note'],
    );
    for (const item of list.items) {
      assert.deepEqual(Object.keys(item).sort(), ['expand', 'id', 'title']);
      assert.deepEqual(item.expand, { author: { id: s.u1.id } });
    }
  });

  test('pb.filter() escapes quotes in string parameters', async () => {
    const pb = s.u1.pb;
    const list = await pb.collection(POSTS).getList(1, 10, {
      filter: pb.filter('title = {:t}', { t: 'It\'s "quoted"' }),
    });
    assert.deepEqual(
      list.items.map((p) => p.id),
      [s.quoted.id],
    );
  });

  test('filters on relations, multi selects and dates', async () => {
    const pb = s.u1.pb;
    const posts = pb.collection(POSTS);
    const byAuthor = await posts.getList(1, 10, {
      filter: pb.filter('author.name = {:n}', { n: 'alice' }),
    });
    assert.equal(byAuthor.totalItems, 5);
    const tagged = await posts.getList(1, 10, {
      // A multi select compares as its JSON text unless :each targets its items.
      filter: pb.filter('tags:each ?= {:tag}', { tag: 'news' }),
      sort: 'created,title',
    });
    assert.deepEqual(
      tagged.items.map((p) => p.title).sort(),
      ['Alpha note', 'Hello world'],
    );
    const since = await posts.getList(1, 10, {
      filter: pb.filter('created >= {:d}', { d: new Date(Date.now() - 3600_000) }),
    });
    assert.equal(since.totalItems, 5);
    const future = await posts.getList(1, 10, {
      filter: pb.filter('created > {:d}', { d: new Date(Date.now() + 3600_000) }),
    });
    assert.equal(future.totalItems, 0);
  });

  test('an invalid filter or sort is a 400', async () => {
    const posts = s.u1.pb.collection(POSTS);
    await expectError(posts.getList(1, 10, { filter: 'title ~' }), 400);
    await expectError(posts.getList(1, 10, { filter: 'no_such_field = 1' }), 400);
    await expectError(posts.getList(1, 10, { sort: 'no_such_field' }), 400);
  });

  test('getFullList walks every page', async () => {
    const pb = s.u1.pb;
    const all = await pb.collection(POSTS).getFullList({ sort: 'title', batch: 2 });
    assert.deepEqual(
      all.map((p) => p.title),
      ['Alpha note', 'Beta note', 'Gamma note', 'Hello world', 'It\'s "quoted"'],
    );
    const filtered = await pb.collection(POSTS).getFullList({
      filter: pb.filter('title ~ {:t}', { t: 'note' }),
      expand: 'author',
    });
    assert.equal(filtered.length, 3);
    assert.ok(filtered.every((p) => p.expand.author.id === s.u1.id));
  });

  test('getFirstListItem finds one record, or throws a 404', async () => {
    const pb = s.u1.pb;
    const beta = await pb
      .collection(POSTS)
      .getFirstListItem(pb.filter('title = {:t}', { t: 'Beta note' }), { expand: 'author' });
    assert.equal(beta.id, s.beta.id);
    assert.equal(beta.expand.author.id, s.u1.id);
    const err = await expectError(
      pb.collection(POSTS).getFirstListItem(pb.filter('title = {:t}', { t: 'Nope' })),
      404,
      { serverShape: false },
    );
    assert.equal(err.response.message, NOT_FOUND);
  });

  test('update changes fields and bumps updated, not created', async () => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const updated = await s.u1.pb
      .collection(POSTS)
      .update(s.hello.id, { title: 'Hello again', body: 'Edited' });
    assert.equal(updated.id, s.hello.id);
    assert.equal(updated.title, 'Hello again');
    assert.equal(updated.body, 'Edited');
    assert.equal(updated.created, s.hello.created);
    assert.ok(updated.updated > s.hello.updated, `${updated.updated} > ${s.hello.updated}`);
  });

  test("update with 'tags+', '+tags' and 'tags-' modifiers", async () => {
    const posts = s.u1.pb.collection(POSTS);
    const appended = await posts.update(s.hello.id, { 'tags+': 'tech' });
    assert.deepEqual(appended.tags, ['news', 'tech']);
    const prepended = await posts.update(s.hello.id, { '+tags': 'life' });
    assert.deepEqual(prepended.tags, ['life', 'news', 'tech']);
    const removed = await posts.update(s.hello.id, { 'tags-': ['news', 'life'] });
    assert.deepEqual(removed.tags, ['tech']);
    const again = await posts.getOne(s.hello.id);
    assert.deepEqual(again.tags, ['tech']);
  });

  test('update validation errors and expand', async () => {
    const posts = s.u1.pb.collection(POSTS);
    const err = await expectError(posts.update(s.hello.id, { title: '' }), 400);
    assert.equal(err.response.message, 'Failed to update record.');
    assert.equal(err.response.data.title?.code, 'validation_required');
    const expanded = await posts.update(s.gamma.id, { body: 'g' }, { expand: 'author' });
    assert.equal(expanded.expand.author.id, s.u1.id);
  });

  test('delete removes the record', async () => {
    const posts = s.u1.pb.collection(POSTS);
    const doomed = await posts.create({ title: 'Doomed', author: s.u1.id });
    assert.equal(await posts.delete(doomed.id), true);
    await expectError(posts.getOne(doomed.id), 404);
    await expectError(posts.delete(doomed.id), 404);
  });
});

describe('api rules keep users apart', () => {
  before(() => assert.ok(s.hello && s.bobPost, 'needs the posts'));

  test("user2 cannot view user1's post (404)", async () => {
    const err = await expectError(s.u2.pb.collection(POSTS).getOne(s.hello.id), 404);
    assert.equal(err.response.message, NOT_FOUND);
  });

  test("user2's lists hold only user2's posts", async () => {
    const pb = s.u2.pb;
    const list = await pb.collection(POSTS).getList(1, 50);
    assert.equal(list.totalItems, 1);
    assert.deepEqual(
      list.items.map((p) => p.id),
      [s.bobPost.id],
    );
    const searched = await pb.collection(POSTS).getList(1, 50, {
      filter: pb.filter('title ~ {:t}', { t: 'note' }),
    });
    assert.deepEqual(searched.items, []);
    assert.equal(searched.totalItems, 0);
    const full = await pb.collection(POSTS).getFullList();
    assert.deepEqual(
      full.map((p) => p.id),
      [s.bobPost.id],
    );
    await expectError(
      pb.collection(POSTS).getFirstListItem(pb.filter('title = {:t}', { t: 'Beta note' })),
      404,
      { serverShape: false },
    );
  });

  test("user2 cannot update or delete user1's post (404), which stays unchanged", async () => {
    const posts = s.u2.pb.collection(POSTS);
    await expectError(posts.update(s.beta.id, { title: 'Hijacked' }), 404);
    await expectError(posts.delete(s.beta.id), 404);
    const beta = await s.u1.pb.collection(POSTS).getOne(s.beta.id);
    assert.equal(beta.title, 'Beta note');
  });

  test('guests see empty lists and 404s', async () => {
    const posts = client().collection(POSTS);
    const list = await posts.getList(1, 10);
    assert.deepEqual(list.items, []);
    assert.equal(list.totalItems, 0);
    await expectError(posts.getOne(s.hello.id), 404);
  });

  test('the superuser sees every post', async () => {
    const all = await s.admin.collection(POSTS).getFullList({ sort: 'title' });
    assert.equal(all.length, 6);
    assert.ok(all.some((p) => p.id === s.bobPost.id));
  });
});

describe('relations: comments', () => {
  before(() => assert.ok(s.comments && s.alpha, 'needs comments and posts'));

  test('the post owner comments on their post; others cannot', async () => {
    s.comment = await s.u1.pb
      .collection(COMMENTS)
      .create({ post: s.alpha.id, author: s.u1.id, message: 'Nice' });
    assert.equal(s.comment.post, s.alpha.id);
    await expectError(
      s.u2.pb.collection(COMMENTS).create({ post: s.alpha.id, author: s.u2.id, message: 'Hi' }),
      400,
    );
  });

  test('a relation to a missing record is a validation error', async () => {
    const missing = { post: 'missingid123456', author: s.u1.id, message: 'x' };
    // The superuser skips the create rule and meets the field validation.
    const err = await expectError(s.admin.collection(COMMENTS).create(missing), 400);
    assert.equal(err.response.data.post?.code, 'validation_missing_rel_records');
    // For the user the create rule (post.author = @request.auth.id) fails as well.
    await expectError(s.u1.pb.collection(COMMENTS).create(missing), 400);
  });

  test('nested expand post.author', async () => {
    const list = await s.u1.pb.collection(COMMENTS).getList(1, 10, { expand: 'post.author' });
    assert.equal(list.items.length, 1);
    const [comment] = list.items;
    assert.equal(comment.expand.post.id, s.alpha.id);
    assert.equal(comment.expand.post.expand.author.id, s.u1.id);
  });

  test('back-relation expand <collection>_via_post', async () => {
    const via = `${COMMENTS}_via_post`;
    const post = await s.u1.pb.collection(POSTS).getOne(s.alpha.id, { expand: via });
    assert.ok(Array.isArray(post.expand?.[via]), JSON.stringify(post.expand));
    assert.deepEqual(
      post.expand[via].map((c) => c.id),
      [s.comment.id],
    );
  });

  test('filter through the relation from comments to posts', async () => {
    const pb = s.u1.pb;
    const list = await pb.collection(COMMENTS).getList(1, 10, {
      filter: pb.filter('post.title = {:t}', { t: 'Alpha note' }),
    });
    assert.deepEqual(
      list.items.map((c) => c.id),
      [s.comment.id],
    );
  });

  test('user2 sees no comments on user1 posts', async () => {
    const list = await s.u2.pb.collection(COMMENTS).getList(1, 10);
    assert.deepEqual(list.items, []);
    await expectError(s.u2.pb.collection(COMMENTS).getOne(s.comment.id), 404);
  });

  test('deleting the post cascades to its comments', async () => {
    await s.u1.pb.collection(POSTS).delete(s.alpha.id);
    await expectError(s.u1.pb.collection(COMMENTS).getOne(s.comment.id), 404);
    const left = await s.admin.collection(COMMENTS).getFullList();
    assert.ok(!left.some((c) => c.id === s.comment.id));
  });
});

describe('auth refresh and the auth store', () => {
  before(() => assert.ok(s.u1, 'needs the users'));

  test('authRefresh returns a fresh token and record and updates the store', async () => {
    const pb = s.u1.pb;
    const changes = [];
    const unsubscribe = pb.authStore.onChange((token, record) => changes.push([token, record]));
    const refreshed = await pb.collection('users').authRefresh();
    unsubscribe();
    assert.equal(typeof refreshed.token, 'string');
    assert.equal(refreshed.token.split('.').length, 3);
    assert.equal(refreshed.record.id, s.u1.id);
    assert.equal(refreshed.record.email, s.u1.email);
    assert.equal(pb.authStore.token, refreshed.token);
    assert.equal(pb.authStore.record.id, s.u1.id);
    assert.equal(pb.authStore.isValid, true);
    assert.equal(changes.length, 1);
    assert.equal(changes[0][0], refreshed.token);
  });

  test('the superuser refreshes its own token', async () => {
    const refreshed = await s.admin.collection('_superusers').authRefresh();
    assert.equal(refreshed.record.collectionName, '_superusers');
    assert.equal(s.admin.authStore.isSuperuser, true);
  });

  test('authRefresh: 401 without or with a bad token, 403 from another collection', async () => {
    const guestErr = await expectError(client().collection('users').authRefresh(), 401);
    assert.deepEqual(guestErr.response.data, {});
    const pb = client();
    pb.authStore.save('not.a.token', null);
    await expectError(pb.collection('users').authRefresh(), 401);
    // A superuser token is not a users token.
    const other = await expectError(s.admin.collection('users').authRefresh(), 403);
    assert.deepEqual(other.response.data, {});
  });

  test('a request with an invalid token is treated as a guest', async () => {
    const pb = client();
    pb.authStore.save('not.a.token', null);
    const list = await pb.collection(POSTS).getList(1, 10);
    assert.deepEqual(list.items, []);
  });

  test('clear() empties the store; save() and cookies restore it', async () => {
    const source = s.u1.pb;
    const pb = client();
    pb.authStore.save(source.authStore.token, source.authStore.record);
    assert.equal(pb.authStore.isValid, true);
    const mine = await pb.collection(POSTS).getList(1, 50);
    assert.equal(mine.totalItems, 4);

    const cookie = pb.authStore.exportToCookie({ httpOnly: false });
    const events = [];
    pb.authStore.onChange((token, record) => events.push([token, record]));
    pb.authStore.clear();
    assert.equal(pb.authStore.token, '');
    assert.equal(pb.authStore.record, null);
    assert.equal(pb.authStore.isValid, false);
    assert.deepEqual(events, [['', null]]);
    const asGuest = await pb.collection(POSTS).getList(1, 50);
    assert.equal(asGuest.totalItems, 0);

    const restored = client();
    restored.authStore.loadFromCookie(cookie);
    assert.equal(restored.authStore.isValid, true);
    assert.equal(restored.authStore.record.id, s.u1.id);
    const again = await restored.collection(POSTS).getList(1, 50);
    assert.equal(again.totalItems, 4);
  });

  test('updating your own auth record refreshes authStore.record', async () => {
    const pb = s.u1.pb;
    const updated = await pb.collection('users').update(s.u1.id, { name: 'Alice Cooper' });
    assert.equal(updated.name, 'Alice Cooper');
    assert.equal(pb.authStore.record.name, 'Alice Cooper');
  });

  test('a password change ends earlier tokens', async () => {
    const carol = await signUpAndIn('carol', PASSWORD);
    const oldToken = carol.pb.authStore.token;
    const wrong = await expectError(
      carol.pb.collection('users').update(carol.id, {
        oldPassword: 'not-my-password',
        password: 'new-pass-456789',
        passwordConfirm: 'new-pass-456789',
      }),
      400,
    );
    assert.equal(typeof wrong.response.data.oldPassword?.code, 'string');
    await carol.pb.collection('users').update(carol.id, {
      oldPassword: PASSWORD,
      password: 'new-pass-456789',
      passwordConfirm: 'new-pass-456789',
    });
    const stale = client();
    stale.authStore.save(oldToken, carol.created);
    await expectError(stale.collection('users').authRefresh(), 401);
    const fresh = client();
    await fresh.collection('users').authWithPassword(carol.email, 'new-pass-456789');
    assert.equal(fresh.authStore.record.id, carol.id);
  });

  test('deleting your own auth record clears the store', async () => {
    const dave = await signUpAndIn('dave');
    assert.equal(await dave.pb.collection('users').delete(dave.id), true);
    assert.equal(dave.pb.authStore.isValid, false);
    assert.equal(dave.pb.authStore.record, null);
    await expectError(
      client().collection('users').authWithPassword(dave.email, dave.password),
      400,
    );
  });
});

describe('collection updates change the rules', () => {
  before(() => assert.ok(s.admin && s.u1, 'needs the superuser and a user'));

  test('null rules are superuser only; pb.collections.update opens them; delete drops it', async () => {
    const name = `notes_${RUN}`;
    const notes = await s.admin.collections.create({
      name,
      type: 'base',
      fields: [{ name: 'text', type: 'text' }],
    });
    assert.equal(notes.listRule, null);
    assert.equal(notes.createRule, null);
    await s.admin.collection(name).create({ text: 'hello' });

    const locked = await expectError(s.u1.pb.collection(name).getList(1, 10), 403);
    assert.equal(locked.response.message, 'Only superusers can perform this action.');
    await expectError(s.u1.pb.collection(name).create({ text: 'x' }), 403);

    const updated = await s.admin.collections.update(name, {
      listRule: '@request.auth.id != ""',
      createRule: '@request.auth.id != ""',
    });
    assert.equal(updated.listRule, '@request.auth.id != ""');
    assert.equal(updated.viewRule, null);
    const open = await s.u1.pb.collection(name).getList(1, 10);
    assert.deepEqual(
      open.items.map((n) => n.text),
      ['hello'],
    );
    await s.u1.pb.collection(name).create({ text: 'from alice' });
    const guest = await client().collection(name).getList(1, 10);
    assert.equal(guest.totalItems, 0);

    const renamed = await s.admin.collections.update(notes.id, { name: `${name}_v2` });
    assert.equal(renamed.id, notes.id);
    const after = await s.u1.pb.collection(`${name}_v2`).getFullList({ sort: 'text' });
    assert.deepEqual(
      after.map((n) => n.text),
      ['from alice', 'hello'],
    );
    await expectError(s.u1.pb.collection(name).getList(1, 10), 404);

    assert.equal(await s.admin.collections.delete(notes.id), true);
    await expectError(s.admin.collections.getOne(notes.id), 404);
    await expectError(s.admin.collection(`${name}_v2`).getList(1, 10), 404);
  });
});

describe('error shapes', () => {
  test('an unknown collection is a 404', async () => {
    const err = await expectError(client().collection(`nope_${RUN}`).getList(1, 10), 404);
    assert.deepEqual(err.response.data, {});
  });

  test('an unknown route is a 404 in the same shape', async () => {
    const err = await expectError(client().send('/api/no-such-route', { method: 'GET' }), 404);
    assert.deepEqual(err.response.data, {});
  });

  test('a validation error lists each field as {code, message}', async () => {
    const err = await expectError(s.u1.pb.collection(POSTS).create({ author: s.u1.id }), 400);
    assert.ok(err instanceof ClientResponseError);
    assert.equal(err.status, 400);
    assert.equal(err.data, err.response, 'err.data is the legacy alias of err.response');
    assert.deepEqual(Object.keys(err.response).sort(), ['data', 'message', 'status']);
    assert.deepEqual(Object.keys(err.response.data.title).sort(), ['code', 'message']);
    assert.ok(err.url.includes(`/api/collections/${POSTS}/records`), err.url);
    const json = err.toJSON();
    assert.equal(json.status, 400);
  });
});
