// Broadcast and presence through the official JS SDK's realtime client, with two
// `keelbase serve` nodes joined by Redis: ann's SDK talks to one node, bob's to the
// other. Run by tests/e2e/test_js_sdk_channels_nodes.py, which starts the nodes
// (KB_URL, KB_URL_2) with hooks letting signed-in users use `room:*` topics.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { EventSource } from 'eventsource';
import PocketBase from 'pocketbase';

globalThis.EventSource = EventSource;

const FIRST = process.env.KB_URL;
const SECOND = process.env.KB_URL_2;
if (!FIRST || !SECOND) throw new Error('KB_URL and KB_URL_2 are not set: run through tests/e2e/test_js_sdk_channels_nodes.py');
const PASSWORD = 'Passw0rd123';

async function signedIn(url, name) {
  const pb = new PocketBase(url);
  pb.autoCancellation(false);
  const email = `${name}-${randomBytes(4).toString('hex')}@example.com`;
  await pb.collection('users').create({ email, password: PASSWORD, passwordConfirm: PASSWORD, name });
  await pb.collection('users').authWithPassword(email, PASSWORD);
  return pb;
}

/** Events given to `push`, taken one by one with `next()` (rejects after `ms`). */
function queue(ms = 8000) {
  const waiting = [];
  const events = [];
  return {
    push(event) {
      const resolve = waiting.shift();
      if (resolve) resolve(event);
      else events.push(event);
    },
    next() {
      if (events.length) return Promise.resolve(events.shift());
      return new Promise((resolve, reject) => {
        waiting.push(resolve);
        setTimeout(() => reject(new Error('no event arrived')), ms);
      });
    },
    get pending() {
      return events.length;
    },
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('realtime channels across two nodes with the JS SDK', () => {
  const room = `room:${randomBytes(4).toString('hex')}`;
  let ann; // on the first node
  let bob; // on the second node

  before(async () => {
    ann = await signedIn(FIRST, 'ann');
    bob = await signedIn(SECOND, 'bob');
  });

  after(() => {
    for (const pb of [ann, bob]) pb.realtime.unsubscribe();
  });

  test('a broadcast sent through one node reaches subscribers on the other, once', async () => {
    const heard = queue();
    await bob.realtime.subscribe(room, heard.push);
    await ann.send('/api/realtime/broadcast', { method: 'POST', body: { topic: room, data: { text: 'hello' } } });
    const event = await heard.next();
    assert.deepEqual(event.data, { text: 'hello' });
    assert.equal(event.sender.id, ann.authStore.record.id);
    await sleep(300);
    assert.equal(heard.pending, 0, 'heard once, though both nodes got it from Redis');
    await bob.realtime.unsubscribe(room);
  });

  test('presence: join on one node is seen and listed on the other; a stream that ends leaves', async () => {
    const watch = queue();
    await bob.realtime.subscribe(`presence:${room}`, watch.push);
    await ann.realtime.subscribe(room, () => {});
    // set through the node that does not hold ann's stream: any node takes it
    const viaSecond = new PocketBase(SECOND);
    viaSecond.authStore.save(ann.authStore.token, ann.authStore.record);
    await viaSecond.send('/api/realtime/presence', {
      method: 'POST',
      body: { clientId: ann.realtime.clientId, topic: room, state: { status: 'typing' } },
    });
    const joined = await watch.next();
    assert.deepEqual([joined.action, joined.auth.id], ['join', ann.authStore.record.id]);
    assert.deepEqual(joined.state, { status: 'typing' });
    for (const pb of [ann, bob]) {
      const listed = await pb.send('/api/realtime/presence', { query: { topic: room } });
      assert.deepEqual(listed.items.map((i) => i.key), [joined.key], pb.baseURL);
    }

    // ann's SDK drops its connection altogether: the node that held it announces the leave
    await ann.realtime.unsubscribe();
    assert.equal(ann.realtime.isConnected, false);
    const left = await watch.next();
    assert.deepEqual([left.action, left.key], ['leave', joined.key]);
    const empty = await bob.send('/api/realtime/presence', { query: { topic: room } });
    assert.deepEqual(empty.items, []);
  });
});
