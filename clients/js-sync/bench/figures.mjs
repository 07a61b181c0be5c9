// Client-side sync figures against a running server (run by bench/sync.py):
//   KB_URL=... KB_TOKEN=... node clients/js-sync/bench/figures.mjs <collection>... --queue <collection> <n>
// Prints one JSON object: per collection an initial sync (ms, bytes, records), and the
// replay of an offline queue of n creates.
import PocketBase from 'pocketbase';
import { MemoryStore, SyncClient } from '../src/index.js';

function client() {
  const pb = new PocketBase(process.env.KB_URL);
  pb.authStore.save(process.env.KB_TOKEN, null);
  pb.bytes = 0;
  pb.offline = false;
  pb.beforeSend = (url, options) => {
    options.fetch = async (...args) => {
      if (pb.offline) throw new TypeError('offline');
      const response = await fetch(...args);
      pb.bytes += (await response.clone().arrayBuffer()).byteLength;
      return response;
    };
    return { url, options };
  };
  return pb;
}

const args = process.argv.slice(2);
const at = args.indexOf('--queue');
const initial = at >= 0 ? args.slice(0, at) : args;
const figures = {};
for (const name of initial) {
  const pb = client();
  const started = performance.now();
  const sync = await new SyncClient(pb, { collections: [name], store: new MemoryStore(), realtime: false }).start();
  figures[`initial_${name}`] = {
    ms: performance.now() - started,
    bytes: pb.bytes,
    records: sync.collection(name).list().length,
  };
}
if (at >= 0) {
  const [name, count] = [args[at + 1], Number(args[at + 2])];
  const pb = client();
  const sync = await new SyncClient(pb, { collections: [name], store: new MemoryStore(), realtime: false }).start();
  pb.offline = true;
  for (let i = 0; i < count; i++) await sync.collection(name).create({ title: `offline ${i}` });
  await sync.sync();
  pb.offline = false;
  const started = performance.now();
  await sync.sync();
  figures.queue_replay = { writes: count, ms: performance.now() - started, left: sync.pending };
}
console.log(JSON.stringify(figures));
