// Realtime channels through the official JS SDK's realtime client: broadcast and presence
// on custom topics (our additions under /api/realtime/...), with pb.realtime.subscribe as is.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { EventSource } from 'eventsource';

import { client, expectError, signUpAndIn, superuserClient, suffix } from './helpers.mjs';

globalThis.EventSource = EventSource;

/** The next event given to the returned callback (or a rejection after `ms`). */
function nextEvent(ms = 5000) {
  const waiting = [];
  const events = [];
  const push = (event) => {
    const resolve = waiting.shift();
    if (resolve) resolve(event);
    else events.push(event);
  };
  const next = () =>
    events.length
      ? Promise.resolve(events.shift())
      : new Promise((resolve, reject) => {
          waiting.push(resolve);
          setTimeout(() => reject(new Error('no event arrived')), ms);
        });
  return { push, next };
}

describe('realtime channels', () => {
  const room = `chat:${suffix()}`;
  let admin;
  let ann;
  let bob;

  before(async () => {
    admin = await superuserClient();
    ann = (await signUpAndIn('ann')).pb;
    bob = (await signUpAndIn('bob')).pb;
  });

  after(() => {
    for (const pb of [admin, ann, bob]) pb.realtime.unsubscribe();
  });

  test('a broadcast reaches the subscribers of a custom topic', async () => {
    const heard = nextEvent();
    await bob.realtime.subscribe(room, heard.push);
    await admin.send('/api/realtime/broadcast', { method: 'POST', body: { topic: room, data: { text: 'hi' } } });
    const event = await heard.next();
    assert.deepEqual(event.data, { text: 'hi' });
    assert.equal(event.sender.collectionId, admin.authStore.record.collectionId);
    assert.equal(event.sender.id, admin.authStore.record.id);
    // without an allow in server code, users may not broadcast
    await expectError(ann.send('/api/realtime/broadcast', { method: 'POST', body: { topic: room, data: 1 } }), 403);
    await bob.realtime.unsubscribe(room);
  });

  test('presence: join, list and leave as the SDK unsubscribes', async () => {
    const watch = nextEvent();
    await bob.realtime.subscribe(`presence:${room}`, watch.push);
    await ann.realtime.subscribe(room, () => {});
    await ann.send('/api/realtime/presence', {
      method: 'POST',
      body: { clientId: ann.realtime.clientId, topic: room, state: { status: 'online' } },
    });
    const joined = await watch.next();
    assert.equal(joined.action, 'join');
    assert.equal(joined.auth.id, ann.authStore.record.id);
    assert.deepEqual(joined.state, { status: 'online' });

    const listed = await bob.send('/api/realtime/presence', { query: { topic: room } });
    assert.deepEqual(listed.items.map((i) => i.key), [joined.key]);

    await ann.realtime.unsubscribe(room); // the SDK resubmits without the topic
    const left = await watch.next();
    assert.deepEqual([left.action, left.key], ['leave', joined.key]);
    const empty = await client().send('/api/realtime/presence', { query: { topic: room } });
    assert.deepEqual(empty.items, []);
  });
});
