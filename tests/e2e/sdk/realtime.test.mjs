// Realtime through the official JS SDK: pb.collection(...).subscribe on a real server.
// Node 20 has no EventSource, so the npm `eventsource` package stands in for it.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { EventSource } from 'eventsource';

import { client, superuserClient, suffix } from './helpers.mjs';

globalThis.EventSource = EventSource;

/** Resolves with the next `count` events given to the returned callback (or rejects after `ms`). */
function collector(count, ms = 5000) {
  const events = [];
  let done;
  const finished = new Promise((resolve, reject) => {
    done = resolve;
    setTimeout(() => reject(new Error(`only ${events.length} of ${count} events arrived`)), ms);
  });
  const push = (event) => {
    events.push(event);
    if (events.length >= count) done(events);
  };
  return { push, finished, events };
}

async function signUp(name) {
  const pb = client();
  const email = `${name}_${suffix()}@example.com`;
  const record = await pb
    .collection('users')
    .create({ email, password: 'Passw0rd123', passwordConfirm: 'Passw0rd123' });
  await pb.collection('users').authWithPassword(email, 'Passw0rd123');
  return { pb, id: record.id };
}

describe('realtime', () => {
  const name = `rt_${suffix()}`;
  let admin;
  let ann;
  let bob;

  before(async () => {
    admin = await superuserClient();
    await admin.collections.create({
      name,
      type: 'base',
      listRule: 'owner = @request.auth.id',
      viewRule: 'owner = @request.auth.id',
      createRule: '@request.auth.id != ""',
      updateRule: 'owner = @request.auth.id',
      deleteRule: 'owner = @request.auth.id',
      fields: [
        { name: 'title', type: 'text' },
        { name: 'owner', type: 'relation', collectionId: '_pb_users_auth_' },
      ],
    });
    ann = await signUp('ann');
    bob = await signUp('bob');
  });

  after(async () => {
    for (const pb of [ann.pb, bob.pb, admin]) pb.realtime.unsubscribe();
    await admin.collections.delete(name);
  });

  test('each user receives only the events of records they may read', async () => {
    const annEvents = collector(3);
    const bobEvents = collector(1);
    await ann.pb.collection(name).subscribe('*', annEvents.push);
    await bob.pb.collection(name).subscribe('*', bobEvents.push);

    const own = await ann.pb.collection(name).create({ title: 'mine', owner: ann.id });
    await ann.pb.collection(name).update(own.id, { title: 'mine, edited' });
    const theirs = await bob.pb.collection(name).create({ title: 'theirs', owner: bob.id });
    await ann.pb.collection(name).delete(own.id);

    const got = await annEvents.finished;
    assert.deepEqual(
      got.map((e) => [e.action, e.record.title]),
      [
        ['create', 'mine'],
        ['update', 'mine, edited'],
        ['delete', 'mine, edited'],
      ],
    );
    assert.equal(got[0].record.collectionName, name);
    const bobGot = await bobEvents.finished;
    assert.deepEqual(bobGot.map((e) => [e.action, e.record.id]), [['create', theirs.id]]);
    await ann.pb.collection(name).unsubscribe('*');
    await bob.pb.collection(name).unsubscribe('*');
  });

  test('a record topic with options: filter, expand and fields', async () => {
    const record = await ann.pb.collection(name).create({ title: 'watched', owner: ann.id });
    const events = collector(1);
    await ann.pb.collection(name).subscribe(record.id, events.push, {
      filter: 'title ~ "big"',
      expand: 'owner',
      fields: 'id,title,expand.owner.id',
    });
    await ann.pb.collection(name).update(record.id, { title: 'small change' }); // filtered out
    await ann.pb.collection(name).update(record.id, { title: 'big change' });
    const [event] = await events.finished;
    assert.equal(event.action, 'update');
    assert.deepEqual(event.record, { id: record.id, title: 'big change', expand: { owner: { id: ann.id } } });
    await ann.pb.collection(name).unsubscribe(record.id);
  });

  test('a superuser sees everything; a guest nothing of a ruled collection', async () => {
    const adminEvents = collector(1);
    const guest = client();
    let guestCount = 0;
    try {
      await admin.collection(name).subscribe('*', adminEvents.push);
      await guest.collection(name).subscribe('*', () => guestCount++);
      await bob.pb.collection(name).create({ title: 'for admins', owner: bob.id });
      const [event] = await adminEvents.finished;
      assert.equal(event.record.title, 'for admins');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(guestCount, 0);
    } finally {
      await admin.collection(name).unsubscribe();
      guest.realtime.unsubscribe();
    }
  });
});
