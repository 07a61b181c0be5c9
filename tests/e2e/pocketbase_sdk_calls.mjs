// The official JS SDK's calls, run against one server, answers printed as JSON.
//
// tests/e2e/test_pocketbase_migrate_e2e.py runs this against PocketBase on its
// own folder and against Keelbase on the migrated one, and compares the output
// (this is where the SDK's pb.logs.* meet the real PocketBase 0.40.6).
// Environment: SDK_URL, ADMIN_EMAIL, ADMIN_PASSWORD, USER_EMAIL, USER_PASSWORD.

import PocketBase from 'pocketbase';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const pb = new PocketBase(env('SDK_URL'));
const out = {};

async function step(name, fn) {
  try {
    out[name] = { ok: await fn() };
  } catch (error) {
    out[name] = { status: error.status, response: error.response };
  }
}

await step('wrong password', () =>
  pb.collection('users').authWithPassword(env('USER_EMAIL'), 'not-the-password-1'),
);
await step('user sign-in', () =>
  pb.collection('users').authWithPassword(env('USER_EMAIL'), env('USER_PASSWORD')),
);
await step('user refresh', () => pb.collection('users').authRefresh());
await step('request filter', () =>
  pb.collection('posts').getFullList({ filter: 'owner = @request.auth.id' }),
);
await step('own posts', () =>
  pb.collection('posts').getFullList({
    filter: pb.filter('owner = {:id}', { id: pb.authStore.record.id }),
    expand: 'author',
  }),
);
await step('update own post', async () => {
  const post = await pb.collection('posts').getFirstListItem('title = "Post 1"');
  return pb.collection('posts').update(post.id, { title: 'Post 1 (edited)' });
});
pb.authStore.clear();
await step('superuser sign-in', () =>
  pb.collection('_superusers').authWithPassword(env('ADMIN_EMAIL'), env('ADMIN_PASSWORD')),
);
await step('all posts', () => pb.collection('posts').getFullList({ expand: 'author,owner' }));
await step('view page', () => pb.collection('post_authors').getList(1, 4, { sort: '-title' }));
await step('author by filter', () =>
  pb.collection('authors').getFirstListItem('name = "Author 3" && meta.n = 3'),
);
await step('thumb', async () => {
  const post = await pb.collection('posts').getFirstListItem('title = "Post 2"');
  const response = await fetch(pb.files.getURL(post, post.cover, { thumb: '20x20' }));
  return { status: response.status, type: response.headers.get('content-type') };
});
// PocketBase's sections only: `metrics` is Keelbase's own.
await step('settings', () =>
  pb.settings.getAll({ fields: 'superuserIPs,smtp,backups,s3,meta,rateLimits,trustedProxy,batch,logs' }),
);
await step('collection', () => pb.collections.getOne('members'));
// pb.logs: what does not depend on the entries each server happens to hold (ids, times, and
// when each server's batch reached its table): empty pages and stats, a missing entry, a bad
// stats filter, a guest. A bad list filter or sort is in tests/differential/steps_logs.py, where
// Keelbase's explanation of which parameter was wrong is the one allowed difference.
const NO_ENTRY = 'message = "no entry has this message" && data.status >= 600';
await step('logs: page of nothing', () =>
  pb.logs.getList(1, 5, { filter: NO_ENTRY, sort: '-@rowid,level' }),
);
await step('logs: page of nothing, skipTotal', () =>
  pb.logs.getList(2, 5, { filter: NO_ENTRY, skipTotal: true }),
);
await step('logs: stats of nothing', () => pb.logs.getStats({ filter: NO_ENTRY }));
await step('logs: missing entry', () => pb.logs.getOne('abcdefghijklmno'));
await step('logs: bad stats filter', () => pb.logs.getStats({ filter: 'level >>' }));
pb.authStore.clear();
await step('logs: guest page', () => pb.logs.getList(1, 5));
await step('logs: guest stats', () => pb.logs.getStats());

console.log(JSON.stringify(out));
