// Compiled by `tsc --noEmit -p .` (tests/e2e/test_js_sync.py): the declarations in
// src/index.d.ts must accept the documented use and refuse wrong use.
import PocketBase from 'pocketbase';
import {
  checksum,
  FileStore,
  IndexedDBStore,
  MemoryStore,
  newId,
  SyncClient,
  type Conflict,
  type KeyValueStore,
  type RecordData,
} from 'keelbase-sync';

export async function todoApp(): Promise<void> {
  const pb = new PocketBase('http://127.0.0.1:8090');
  const kept: Conflict[] = [];
  const sync = await new SyncClient(pb, {
    collections: ['todos'],
    store: new MemoryStore(),
    realtime: false,
    expand: { todos: 'owner' },
    onConflict: (conflict) => {
      kept.push(conflict);
      if (conflict.kind === 'conflict' && conflict.server) return { title: `${conflict.server.title}!` };
    },
  }).start();
  const todos = sync.collection('todos');
  const stop: () => void = todos.live((list: RecordData[]) => list.length, {
    filter: (t) => !t.done,
    sort: (a, b) => (a.id < b.id ? -1 : 1),
  });
  const milk: RecordData = await todos.create({ title: 'milk' });
  await todos.update(milk.id, { done: true });
  await todos.delete(milk.id);
  const online: boolean = (await sync.sync()).online;
  const pending: number = sync.pending + sync.conflicts.length;
  const agreed: boolean = await sync.verify('todos');
  await sync.restart();
  const sum: string = await checksum(todos.list());
  const id: string = newId();
  const stores: KeyValueStore[] = [new FileStore('/tmp/todos.json'), new IndexedDBStore('todos-me')];
  stop();
  await sync.stop();
  void [online, pending, agreed, sum, id, stores];

  // Wrong use must not compile: these lines prove the declarations are read at all.
  // @ts-expect-error collections is required
  new SyncClient(pb, {});
  // @ts-expect-error a conflict's kind is one of three names
  const kind: Conflict['kind'] = 'lost';
  // @ts-expect-error get is synchronous
  (await todos.get('x')).then;
  // @ts-expect-error FileStore needs a path
  new FileStore();
  void kind;
}
