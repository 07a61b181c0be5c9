// keelbase-sync against a real `keelbase serve` (KB_URL, KB_ADMIN_EMAIL, KB_ADMIN_PASSWORD):
// started by tests/e2e/test_js_sync.py on SQLite and on PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import PocketBase from 'pocketbase';
import { FileStore, MemoryStore, SyncClient } from '../src/index.js';

const URL = process.env.KB_URL;
const admin = new PocketBase(URL);
const PASSWORD = 'sync-pass-123';

/** An SDK client whose network can be cut, as a phone in a tunnel. */
function device() {
  const pb = new PocketBase(URL);
  pb.offline = false;
  pb.loseAnswers = false;
  pb.beforeSend = (url, options) => {
    if (pb.offline) {
      options.fetch = () => Promise.reject(new TypeError('network is down'));
    } else if (pb.loseAnswers) {
      // The request reaches the server, the answer never comes back.
      options.fetch = async (...args) => {
        await fetch(...args);
        throw new TypeError('connection reset');
      };
    }
    return { url, options };
  };
  return pb;
}

async function user(name, team = '') {
  const email = `${name}-${Date.now()}@example.com`;
  await admin.collection('users').create({ email, password: PASSWORD, passwordConfirm: PASSWORD, team });
  const pb = device();
  await pb.collection('users').authWithPassword(email, PASSWORD);
  return pb;
}

async function serverTodos(ownerId) {
  const items = await admin.collection('todos').getFullList({ filter: `owner = "${ownerId}"`, requestKey: null });
  return items.map(({ id, title, done }) => ({ id, title, done })).sort((a, b) => a.id.localeCompare(b.id));
}

function localTodos(sync) {
  return sync
    .collection('todos')
    .list({ sort: (a, b) => a.id.localeCompare(b.id) })
    .map(({ id, title, done }) => ({ id, title, done }));
}

before(async () => {
  await admin.collection('_superusers').authWithPassword(process.env.KB_ADMIN_EMAIL, process.env.KB_ADMIN_PASSWORD);
  const users = await admin.collections.getOne('users');
  await admin.collections.update('users', { fields: [...users.fields, { name: 'team', type: 'text' }] });
  const mine = 'owner = @request.auth.id || (team != "" && team = @request.auth.team)';
  await admin.collections.create({
    name: 'todos',
    listRule: mine,
    viewRule: mine,
    createRule: 'owner = @request.auth.id',
    updateRule: mine,
    deleteRule: mine,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'done', type: 'bool' },
      { name: 'owner', type: 'text' },
      { name: 'team', type: 'text' },
      { name: 'created', type: 'autodate', onCreate: true },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
  });
});

test('offline writes are replayed in order and both sides agree', async () => {
  const pb = await user('offline');
  const me = pb.authStore.record.id;
  const kept = await admin.collection('todos').create({ title: 'kept', owner: me });
  const gone = await admin.collection('todos').create({ title: 'gone', owner: me });
  const store = new MemoryStore();
  const sync = await new SyncClient(pb, { collections: ['todos'], store, realtime: false }).start();
  assert.deepEqual(localTodos(sync), await serverTodos(me));
  const seen = [];
  const stop = sync.collection('todos').live((records) => seen.push(records.length));

  pb.offline = true;
  const todos = sync.collection('todos');
  const made = await todos.create({ title: 'written offline', owner: me });
  await todos.update(made.id, { done: true });
  await todos.update(kept.id, { title: 'kept, renamed offline' });
  await todos.delete(gone.id);
  assert.equal((await sync.sync()).online, false);
  assert.equal(sync.pending, 4);
  assert.equal(todos.get(made.id).done, true);
  assert.equal(todos.get(gone.id), undefined);
  assert.equal((await serverTodos(me)).length, 2, 'nothing reached the server yet');

  // A reload while offline: a new client on the same store still holds the queue.
  const reloaded = await new SyncClient(pb, { collections: ['todos'], store, realtime: false }).start();
  assert.equal(reloaded.pending, 4);
  assert.deepEqual(localTodos(reloaded), localTodos(sync));

  pb.offline = false;
  assert.equal((await reloaded.sync()).online, true);
  assert.equal(reloaded.pending, 0);
  assert.deepEqual(reloaded.conflicts, []);
  const server = await serverTodos(me);
  assert.deepEqual(localTodos(reloaded), server);
  assert.deepEqual(
    server.map((t) => t.title).sort(),
    ['kept, renamed offline', 'written offline'],
  );
  assert.ok(seen.length >= 5, 'the live query heard every local write');
  stop();
});

test('a retried upload whose answer was lost makes no second record', async () => {
  const pb = await user('retry');
  const me = pb.authStore.record.id;
  const sync = await new SyncClient(pb, { collections: ['todos'], realtime: false }).start();
  pb.loseAnswers = true;
  const made = await sync.collection('todos').create({ title: 'once', owner: me });
  await sync.sync();
  assert.equal(sync.pending, 1, 'the answer was lost, so the write stays queued');
  pb.loseAnswers = false;
  await sync.sync();
  assert.equal(sync.pending, 0);
  assert.deepEqual(await serverTodos(me), [{ id: made.id, title: 'once', done: false }]);
  // An update whose answer was lost: the repeat finds its own version, not a conflict.
  pb.loseAnswers = true;
  await sync.collection('todos').update(made.id, { title: 'twice' });
  await sync.sync();
  assert.equal(sync.pending, 1);
  pb.loseAnswers = false;
  await sync.sync();
  assert.equal(sync.pending, 0);
  assert.deepEqual(sync.conflicts, []);
  assert.deepEqual(await serverTodos(me), [{ id: made.id, title: 'twice', done: false }]);
  assert.deepEqual(localTodos(sync), await serverTodos(me));
});

test('two devices edit one record: the server wins, the loser keeps its change aside', async () => {
  const pb = await user('twice');
  const me = pb.authStore.record.id;
  const other = device();
  other.authStore.save(pb.authStore.token, pb.authStore.record);
  const record = await admin.collection('todos').create({ title: 'first', owner: me });
  const heard = [];
  const a = await new SyncClient(pb, { collections: ['todos'], realtime: false, onConflict: (c) => { heard.push(c); } }).start();
  const b = await new SyncClient(other, { collections: ['todos'], realtime: false }).start();
  pb.offline = true;
  await a.collection('todos').update(record.id, { title: 'from a' });
  await b.collection('todos').update(record.id, { title: 'from b' });
  await b.sync();
  pb.offline = false;
  await a.sync();
  assert.equal(heard.length, 1);
  assert.equal(heard[0].kind, 'conflict');
  assert.equal(heard[0].operation.data.title, 'from a');
  assert.equal(heard[0].server.title, 'from b');
  assert.deepEqual(a.conflicts, heard);
  assert.equal(a.collection('todos').get(record.id).title, 'from b');
  await b.sync();
  assert.deepEqual(localTodos(a), localTodos(b));
  assert.deepEqual(localTodos(a), await serverTodos(me));
});

test('a delete made on an old version leaves the newer one, as a conflict', async () => {
  const pb = await user('gone');
  const me = pb.authStore.record.id;
  const heard = [];
  const record = await admin.collection('todos').create({ title: 'kept', owner: me });
  const a = await new SyncClient(pb, { collections: ['todos'], realtime: false, onConflict: (c) => { heard.push(c); } }).start();
  pb.offline = true;
  await a.collection('todos').delete(record.id);
  assert.equal(a.collection('todos').get(record.id), undefined);
  await admin.collection('todos').update(record.id, { title: 'changed meanwhile' });
  pb.offline = false;
  await a.sync();
  assert.equal(heard.length, 1);
  assert.equal(heard[0].kind, 'conflict');
  assert.equal(heard[0].operation.action, 'delete');
  assert.equal(heard[0].server.title, 'changed meanwhile');
  assert.equal(a.collection('todos').get(record.id).title, 'changed meanwhile');
  assert.deepEqual(localTodos(a), await serverTodos(me));
  // A delete made on the version the server holds goes through.
  await a.collection('todos').delete(record.id);
  await a.sync();
  assert.equal(heard.length, 1);
  assert.deepEqual(await serverTodos(me), []);
});

test('a hook may write its own change on top of the server version', async () => {
  const pb = await user('merge');
  const me = pb.authStore.record.id;
  const record = await admin.collection('todos').create({ title: 'base', owner: me });
  const a = await new SyncClient(pb, {
    collections: ['todos'],
    realtime: false,
    onConflict: (c) => ({ title: `${c.server.title} + ${c.operation.data.title}` }),
  }).start();
  pb.offline = true;
  await a.collection('todos').update(record.id, { title: 'mine' });
  await admin.collection('todos').update(record.id, { title: 'theirs' });
  pb.offline = false;
  await a.sync();
  assert.equal((await admin.collection('todos').getOne(record.id)).title, 'theirs + mine');
  assert.equal(a.collection('todos').get(record.id).title, 'theirs + mine');
});

test('a user losing access to a record sees it disappear', async () => {
  const pb = await user('access', 'blue');
  const me = pb.authStore.record.id;
  const colleague = await admin.collection('users').create({
    email: `colleague-${Date.now()}@example.com`, password: PASSWORD, passwordConfirm: PASSWORD, team: 'blue',
  });
  const shared = await admin.collection('todos').create({ title: 'team work', owner: colleague.id, team: 'blue' });
  const other = await admin.collection('todos').create({ title: 'also team', owner: colleague.id, team: 'blue' });
  const sync = await new SyncClient(pb, { collections: ['todos'], realtime: false }).start();
  assert.ok(sync.collection('todos').get(shared.id));
  // The record itself changes: the feed says remove.
  await admin.collection('todos').update(shared.id, { team: 'red' });
  await sync.sync();
  assert.equal(sync.collection('todos').get(shared.id), undefined);
  assert.ok(sync.collection('todos').get(other.id));
  // The user changes team (no todo is written): the checkpoint finds the drift.
  await admin.collection('users').update(me, { team: 'green' });
  await sync.sync();
  assert.ok(sync.collection('todos').get(other.id), 'nothing in the feed said so');
  assert.equal(await sync.verify('todos'), false);
  assert.equal(sync.collection('todos').get(other.id), undefined);
  assert.equal(await sync.verify('todos'), true);
});

test('syncs compare with the checkpoint on their own, so a drift needs no verify call', async () => {
  const pb = await user('drift', 'blue');
  const me = pb.authStore.record.id;
  const colleague = await admin.collection('users').create({
    email: `drift-colleague-${Date.now()}@example.com`, password: PASSWORD, passwordConfirm: PASSWORD, team: 'blue',
  });
  const shared = await admin.collection('todos').create({ title: 'team only', owner: colleague.id, team: 'blue' });
  const sync = await new SyncClient(pb, { collections: ['todos'], realtime: false, verifyEvery: 1 }).start();
  assert.ok(sync.collection('todos').get(shared.id));
  await admin.collection('users').update(me, { team: 'green' }); // no todo is written
  await new Promise((resolve) => setTimeout(resolve, 5));
  await sync.sync();
  assert.equal(sync.collection('todos').get(shared.id), undefined, 'the sync checked the checkpoint');
});

test('in Node a FileStore keeps the copy and the queue across a restart', async () => {
  const pb = await user('file');
  const me = pb.authStore.record.id;
  const kept = await admin.collection('todos').create({ title: 'kept', owner: me });
  const folder = await mkdtemp(join(tmpdir(), 'kb-sync-'));
  const path = join(folder, 'todos.json');
  try {
    const sync = await new SyncClient(pb, { collections: ['todos'], store: new FileStore(path), realtime: false }).start();
    assert.deepEqual(localTodos(sync), await serverTodos(me));
    pb.offline = true;
    const made = await sync.collection('todos').create({ title: 'written offline', owner: me });
    await sync.collection('todos').update(kept.id, { done: true });
    assert.equal((await sync.sync()).online, false);
    await sync.stop();
    const saved = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(Object.keys(saved).filter((key) => key.startsWith('q/')).length, 2);

    // A new process: nothing in memory, the file only.
    const restarted = await new SyncClient(pb, { collections: ['todos'], store: new FileStore(path), realtime: false }).start();
    assert.equal(restarted.pending, 2);
    assert.equal(restarted.collection('todos').get(made.id).title, 'written offline');
    assert.equal(restarted.collection('todos').get(kept.id).done, true);
    pb.offline = false;
    assert.equal((await restarted.sync()).online, true);
    assert.equal(restarted.pending, 0);
    assert.deepEqual(localTodos(restarted), await serverTodos(me));
    const after = await new SyncClient(pb, { collections: ['todos'], store: new FileStore(path), realtime: false });
    await after.start();
    assert.deepEqual(localTodos(after), await serverTodos(me));
    assert.equal(after.pending, 0);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a user taken off a related record loses what the rule reached through it', async () => {
  const users = await admin.collections.getOne('users');
  const projects = await admin.collections.create({
    name: 'projects',
    listRule: 'members.id ?= @request.auth.id',
    viewRule: 'members.id ?= @request.auth.id',
    fields: [
      { name: 'name', type: 'text' },
      { name: 'members', type: 'relation', collectionId: users.id, maxSelect: 10 },
    ],
  });
  const rule = 'project.members.id ?= @request.auth.id';
  await admin.collections.create({
    name: 'tasks',
    listRule: rule,
    viewRule: rule,
    fields: [
      { name: 'title', type: 'text' },
      { name: 'project', type: 'relation', collectionId: projects.id, maxSelect: 1 },
      { name: 'updated', type: 'autodate', onCreate: true, onUpdate: true },
    ],
  });
  const pb = await user('member');
  const me = pb.authStore.record.id;
  const colleague = await admin.collection('users').create({
    email: `member2-${Date.now()}@example.com`, password: PASSWORD, passwordConfirm: PASSWORD,
  });
  const project = await admin.collection('projects').create({ name: 'p', members: [me, colleague.id] });
  const task = await admin.collection('tasks').create({ title: 'shared task', project: project.id });
  const sync = await new SyncClient(pb, { collections: ['tasks'], realtime: false }).start();
  assert.equal(sync.collection('tasks').get(task.id).title, 'shared task');
  assert.equal(await sync.verify('tasks'), true);
  // The project changes, not the task: the task's feed has nothing to say ...
  await admin.collection('projects').update(project.id, { members: [colleague.id] });
  await sync.sync();
  assert.ok(sync.collection('tasks').get(task.id), 'no task was written');
  // ... and the checkpoint finds the drift; the task disappears.
  const seen = [];
  sync.collection('tasks').live((list) => seen.push(list.map((t) => t.id)));
  assert.equal(await sync.verify('tasks'), false);
  assert.equal(sync.collection('tasks').get(task.id), undefined);
  assert.deepEqual(seen.at(-1), []);
  assert.equal(await sync.verify('tasks'), true);
  // Back on the project: the task comes back.
  await admin.collection('projects').update(project.id, { members: [colleague.id, me] });
  assert.equal(await sync.verify('tasks'), false);
  assert.equal(sync.collection('tasks').get(task.id).title, 'shared task');
});

test('another user signing in on the same device sees only their own records', async () => {
  const pb = await user('first');
  const first = pb.authStore.record.id;
  const theirs = await admin.collection('todos').create({ title: 'first user only', owner: first });
  const email = `second-${Date.now()}@example.com`;
  const second = await admin.collection('users').create({ email, password: PASSWORD, passwordConfirm: PASSWORD });
  const mine = await admin.collection('todos').create({ title: 'second user only', owner: second.id });
  const store = new MemoryStore();
  const sync = await new SyncClient(pb, { collections: ['todos'], store, realtime: false }).start();
  assert.ok(sync.collection('todos').get(theirs.id));
  // Signing in as someone else on the running client: its copy starts again.
  await pb.collection('users').authWithPassword(email, PASSWORD);
  await sync.sync();
  assert.equal(sync.collection('todos').get(theirs.id), undefined);
  assert.ok(sync.collection('todos').get(mine.id));
  assert.deepEqual(localTodos(sync), await serverTodos(second.id));
  // A token refresh is the same user: nothing starts again.
  await pb.collection('users').authRefresh();
  assert.notEqual(sync.cursors.get('todos'), '');
  await sync.stop();
  // A restart signed in as the first user again, on the store the second one left.
  const again = device();
  await again.collection('users').authWithPassword((await admin.collection('users').getOne(first)).email, PASSWORD);
  const reopened = await new SyncClient(again, { collections: ['todos'], store, realtime: false }).start();
  assert.equal(reopened.collection('todos').get(mine.id), undefined);
  assert.deepEqual(localTodos(reopened), await serverTodos(first));
});
