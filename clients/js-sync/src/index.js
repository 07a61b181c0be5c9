// keelbase-sync: offline-first collections over Keelbase's change feed (/api/sync/...).
//
// The client keeps two things per collection: the server's copy (what the last pulls
// said, with the feed's cursor) and a queue of local writes not yet accepted by the
// server. What the app reads is the server's copy with the queue applied on top, so a
// pull never loses a pending local change and a push never waits for a pull.
//
// Plain ESM JavaScript with JSDoc types: no build step.

import { defaultStore, FileStore, IndexedDBStore, MemoryStore } from './stores.js';

export { FileStore, IndexedDBStore, MemoryStore };

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const PAGE = 500;
const HELD_RETRIES = 50;
const HELD_DELAY_MS = 100;

/**
 * @typedef {{id: string, updated?: string, [field: string]: any}} RecordData
 * @typedef {{n: number, collection: string, action: 'create'|'update'|'delete', id: string,
 *   data?: Record<string, any>, base?: string}} Operation
 *   A queued local write; ``base`` is the server's ``updated`` it was made against.
 * @typedef {{kind: 'conflict'|'missing'|'rejected', operation: Operation,
 *   server?: RecordData, error?: any}} Conflict
 *   A local write the server did not take: ``conflict`` (someone else changed the record
 *   first; ``server`` is their version), ``missing`` (gone or no longer visible),
 *   ``rejected`` (the server refused it, e.g. a validation error).
 * @typedef {(conflict: Conflict) => (Record<string, any> | void | Promise<Record<string, any> | void>)} ConflictHook
 *   The app's policy: return fields to write again on top of the server's version, or
 *   nothing to let the server's version stand (the default).
 * @typedef {object} SyncOptions
 * @property {string[]} collections  the collections to keep
 * @property {import('./stores.js').KeyValueStore} [store]  IndexedDB in browsers, memory elsewhere (FileStore: a file in Node)
 * @property {ConflictHook} [onConflict]
 * @property {boolean} [realtime]  pull when the server announces a change (default: when EventSource exists)
 * @property {Record<string, string>} [expand]  an ``expand`` per collection
 * @property {number} [verifyEvery]  ms between checkpoint checks during syncs (default 60000; 0: never)
 */

/** A new record id like PocketBase's: 15 characters of [a-z0-9]. */
export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  return Array.from(bytes, (b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
}

/** The checkpoint's checksum over records: SHA-256 of "<id>\t<updated>\n" sorted by id. */
export async function checksum(records) {
  const lines = records
    .map((r) => [String(r.id), r.updated == null ? '' : String(r.updated)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, updated]) => `${id}\t${updated}\n`)
    .join('');
  return sha256(lines);
}

/** The hex SHA-256 of a text. */
async function sha256(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Whether ``record`` holds every field of ``data`` as written. */
function sameFields(data, record) {
  if (!data || !record) return false;
  return Object.entries(data).every(([key, value]) => JSON.stringify(record[key]) === JSON.stringify(value));
}

function isOffline(error) {
  return !error || error.status === 0 || error.isAbort === true;
}

export class SyncClient {
  /**
   * @param {import('pocketbase').default} pb  an SDK client (signed in or not)
   * @param {SyncOptions} options
   */
  constructor(pb, options) {
    this.pb = pb;
    this.names = [...options.collections];
    this.store = options.store ?? defaultStore();
    this.onConflict = options.onConflict ?? (() => undefined);
    this.expand = options.expand ?? {};
    this.realtime = options.realtime ?? typeof globalThis.EventSource !== 'undefined';
    // A record can leave this user's view without being written (a rule, a relation or
    // their own auth record changed): only the checkpoint shows it, so syncs compare
    // with it now and then on their own (and the first sync after start always does).
    this.verifyEvery = options.verifyEvery ?? 60000;
    this.verifiedAt = -Infinity;
    /** @type {Map<string, Map<string, RecordData>>} */
    this.server = new Map();
    /** @type {Map<string, string>} the digests of held ids, as the feed's ``remove`` names them */
    this.digests = new Map();
    /** @type {Map<string, string>} */
    this.cursors = new Map();
    /** @type {Operation[]} */
    this.queue = [];
    /** @type {Conflict[]} local writes the server did not take, kept for the app */
    this.conflicts = [];
    this.nextOp = 1;
    this.online = true;
    /** @type {Map<string, Set<() => void>>} */
    this.listeners = new Map();
    /** @type {Map<string, Map<string, RecordData>>} */
    this.views = new Map();
    /** @type {Promise<{online: boolean}> | null} */
    this.running = null;
    /** @type {Promise<{online: boolean}> | null} */
    this.next = null;
    this.unsubscribers = [];
    /** @type {string} the auth record id the copy was pulled for ('' when signed out) */
    this.who = '';
    /** @type {(() => void) | null} */
    this.authUnsubscribe = null;
    this.onlineHandler = () => this.sync().catch(() => undefined);
  }

  /** Load the local copy, then sync once if the network allows (never throws when offline). */
  async start() {
    for (const name of this.names) {
      const records = new Map();
      for (const [, record] of await this.store.entries(`r/${name}/`)) records.set(record.id, record);
      this.server.set(name, records);
      this.cursors.set(name, (await this.store.get(`c/${name}`)) ?? '');
    }
    this.queue = (await this.store.entries('q/')).map(([, op]) => op);
    // Another user (or none) than the one this copy was pulled for: what they may see
    // differs without any record being written, so every collection starts again.
    this.who = this.pb.authStore.record?.id ?? '';
    const before = await this.store.get('a');
    if (before !== undefined && before !== this.who) await this.restart();
    else await this.store.write([['a', this.who]]);
    this.authUnsubscribe = this.pb.authStore.onChange(() => {
      const now = this.pb.authStore.record?.id ?? '';
      if (now === this.who) return; // a token refresh, the same user
      this.who = now;
      this.restart().then(() => this.schedule(), () => undefined);
    });
    this.nextOp = this.queue.length ? this.queue[this.queue.length - 1].n + 1 : 1;
    if (typeof window !== 'undefined') window.addEventListener('online', this.onlineHandler);
    if (this.realtime) {
      for (const name of this.names) {
        try {
          this.unsubscribers.push(await this.pb.collection(name).subscribe('*', () => this.schedule()));
        } catch {
          // Offline at start: the next sync() subscribes nothing, but pulls still work.
        }
      }
    }
    await this.sync();
    return this;
  }

  async stop() {
    if (typeof window !== 'undefined') window.removeEventListener('online', this.onlineHandler);
    this.authUnsubscribe?.();
    this.authUnsubscribe = null;
    for (const unsubscribe of this.unsubscribers) await unsubscribe().catch(() => undefined);
    this.unsubscribers = [];
    await this.running;
  }

  /** @param {string} name */
  collection(name) {
    if (!this.server.has(name)) throw new Error(`${name} is not a synced collection`);
    return new SyncedCollection(this, name);
  }

  /** Local writes not yet accepted by the server. */
  get pending() {
    return this.queue.length;
  }

  schedule() {
    this.sync().catch(() => undefined);
  }

  /**
   * Push the queue in order, then pull every collection. One sync runs at a time: a call
   * while one runs starts one more after it (calls meanwhile share that one), so a write
   * or a return online is never answered by a run that started before it.
   * Resolves to ``{online}``.
   */
  sync() {
    if (this.next) return this.next;
    const previous = this.running;
    const run = (async () => {
      // Always awaits, so ``run`` below is set before it is read.
      await Promise.resolve(previous).catch(() => undefined);
      if (this.next === run) this.next = null;
      try {
        this.online = (await this.push()) && (await this.pullAll());
        if (this.online && this.verifyEvery > 0 && Date.now() - this.verifiedAt >= this.verifyEvery) {
          this.verifiedAt = Date.now();
          for (const name of this.names) await this.verify(name).catch(() => undefined);
        }
        return { online: this.online };
      } finally {
        if (this.running === run) this.running = null;
      }
    })();
    if (previous) this.next = run;
    this.running = run;
    return run;
  }

  // Local writes ----------------------------------------------------------

  async enqueue(collection, action, id, data) {
    const server = this.server.get(collection).get(id);
    /** @type {Operation} */
    const op = { n: this.nextOp++, collection, action, id, data, base: server?.updated };
    this.queue.push(op);
    await this.store.write([[`q/${String(op.n).padStart(12, '0')}`, op]]);
    this.changed(collection);
    this.schedule();
  }

  // Push ------------------------------------------------------------------

  /** @returns {Promise<boolean>} false when the network is gone (the queue stays). */
  async push() {
    while (this.queue.length) {
      const op = this.queue[0];
      const service = this.pb.collection(op.collection);
      const options = { requestKey: null };
      /** @type {Conflict | null} */
      let conflict = null;
      let written = null;
      const send = async () => {
        if (op.action === 'create') {
          return service.create({ ...op.data, id: op.id }, { ...options, expand: this.expand[op.collection] });
        }
        // Updates and deletes name the version they were made on: one made since wins.
        const headers = op.base ? { 'If-Match': op.base } : {};
        if (op.action === 'update') {
          return service.update(op.id, op.data, { ...options, headers, expand: this.expand[op.collection] });
        }
        return service.delete(op.id, { ...options, headers });
      };
      try {
        try {
          written = await send();
        } catch (error) {
          // A kept-alive connection the server closed while we were offline fails once:
          // try again on a new one (safe: ids and If-Match make a repeat harmless).
          if (!isOffline(error)) throw error;
          written = await send();
        }
        if (op.action === 'delete') written = null;
      } catch (error) {
        // Offline, or the server cannot take it now: the queue stays for the next sync.
        if (isOffline(error) || error.status >= 500 || error.status === 429) return false;
        const data = error.response?.data ?? {};
        if (op.action === 'create' && error.status === 400 && data.id?.code === 'validation_not_unique') {
          // An earlier try was written before its answer was lost: the same id, no second record.
          written = await service.getOne(op.id, { requestKey: null }).catch(() => null);
        } else if (error.status === 409 && sameFields(op.data, data.record)) {
          // Our own write, whose answer was lost, is the version the server holds.
          written = data.record;
        } else if (error.status === 409) {
          conflict = { kind: 'conflict', operation: op, server: data.record, error };
        } else if (error.status === 404 && op.action === 'delete') {
          // Already gone: what the delete wanted.
        } else if (error.status === 404) {
          conflict = { kind: 'missing', operation: op, error };
        } else {
          conflict = { kind: 'rejected', operation: op, error };
        }
      }
      await this.settle(op, written, conflict);
    }
    return true;
  }

  /** Drop ``op`` from the queue and keep what the server answered. */
  async settle(op, written, conflict) {
    const records = this.server.get(op.collection);
    const entries = [];
    const removed = [`q/${String(op.n).padStart(12, '0')}`];
    this.queue.shift();
    if (op.action === 'delete' && !conflict) {
      records.delete(op.id);
      removed.push(`r/${op.collection}/${op.id}`);
    }
    const server = conflict?.server ?? written;
    if (server?.id) {
      records.set(server.id, server);
      entries.push([`r/${op.collection}/${server.id}`, server]);
      // Later writes made on top of this one now start from the version just written.
      for (const later of this.queue) {
        if (later.collection === op.collection && later.id === op.id && later.base === op.base && !conflict) {
          later.base = server.updated;
          entries.push([`q/${String(later.n).padStart(12, '0')}`, later]);
        }
      }
    }
    await this.store.write(entries, removed);
    if (conflict) {
      this.conflicts.push(conflict);
      const again = await this.onConflict(conflict);
      if (again && typeof again === 'object' && conflict.kind === 'conflict' && conflict.server) {
        await this.enqueue(op.collection, 'update', op.id, again);
      }
    }
    this.changed(op.collection);
  }

  // Pull ------------------------------------------------------------------

  async pullAll() {
    for (const name of this.names) {
      if (!(await this.pull(name))) return false;
    }
    return true;
  }

  /**
   * Follow the change feed of ``name`` to its end. A 410 (cursor too old, or the
   * collection's rules changed) starts again from a snapshot.
   * @returns {Promise<boolean>} false when offline
   */
  async pull(name) {
    let cursor = this.cursors.get(name) ?? '';
    let seen = cursor === '' ? new Set() : null;
    let held = 0;
    for (;;) {
      let page;
      try {
        const query = { cursor, limit: PAGE };
        if (this.expand[name]) query.expand = this.expand[name];
        page = await this.pb.send(`/api/sync/${encodeURIComponent(name)}/changes`, { query, requestKey: null });
      } catch (error) {
        if (isOffline(error)) return false;
        if (error.status === 410) {
          cursor = '';
          seen = new Set();
          continue;
        }
        throw error;
      }
      const records = this.server.get(name);
      const entries = [];
      const removed = [];
      for (const record of page.put) {
        records.set(record.id, record);
        entries.push([`r/${name}/${record.id}`, record]);
        seen?.add(record.id);
      }
      if (page.remove.length) {
        // The feed names a record to remove by the SHA-256 of its id, never the id itself
        // (it would hand out ids of records this user may not list): compare with ours.
        const gone = new Set(page.remove);
        for (const id of [...records.keys()]) {
          if (gone.has(await this.removalDigest(id))) {
            records.delete(id);
            this.digests.delete(id);
            removed.push(`r/${name}/${id}`);
          }
        }
      }
      if (seen && page.cursor.startsWith('c.')) {
        // The snapshot is read: what it did not name is no longer ours to hold.
        for (const id of [...records.keys()]) {
          if (!seen.has(id)) {
            records.delete(id);
            removed.push(`r/${name}/${id}`);
          }
        }
        seen = null;
      }
      cursor = page.cursor;
      entries.push([`c/${name}`, cursor]);
      this.cursors.set(name, cursor);
      await this.store.write(entries, removed);
      if (entries.length > 1 || removed.length) this.changed(name);
      if (page.held && held++ < HELD_RETRIES) {
        // A newer change waits for an older transaction on the server: it comes in a moment.
        await new Promise((resolve) => setTimeout(resolve, HELD_DELAY_MS));
        continue;
      }
      if (!page.hasMore) return true;
    }
  }

  /** The SHA-256 of a held id, kept while the record is. */
  async removalDigest(id) {
    let digest = this.digests.get(id);
    if (digest === undefined) {
      digest = await sha256(id);
      this.digests.set(id, digest);
    }
    return digest;
  }

  /**
   * Compare the local copy with the server's checkpoint; on a difference pull again,
   * and if it persists (a record left this user's view without being written), start
   * again from a snapshot. Resolves to true when they agreed at once.
   */
  async verify(name) {
    const agrees = async () => {
      const point = await this.pb.send(`/api/sync/${encodeURIComponent(name)}/checkpoint`, { requestKey: null });
      const mine = [...this.server.get(name).values()];
      return point.count === mine.length && point.checksum === (await checksum(mine));
    };
    if (await agrees()) return true;
    await this.pull(name);
    if (await agrees()) return false;
    this.cursors.set(name, '');
    await this.store.write([[`c/${name}`, '']]);
    await this.pull(name);
    return false;
  }

  /**
   * Pull every collection again from a snapshot on the next sync (records the snapshot
   * does not name are dropped then). Done on its own when the signed-in user changes.
   */
  async restart() {
    const entries = [['a', this.who]];
    for (const name of this.names) {
      this.cursors.set(name, '');
      entries.push([`c/${name}`, '']);
    }
    await this.store.write(entries);
  }

  // Reads -----------------------------------------------------------------

  /** The server's copy with the pending local writes on top. */
  view(name) {
    let view = this.views.get(name);
    if (!view) {
      view = new Map(this.server.get(name));
      for (const op of this.queue) {
        if (op.collection !== name) continue;
        if (op.action === 'delete') view.delete(op.id);
        else view.set(op.id, { ...(view.get(op.id) ?? { id: op.id }), ...op.data, id: op.id });
      }
      this.views.set(name, view);
    }
    return view;
  }

  changed(name) {
    this.views.delete(name);
    for (const listener of this.listeners.get(name) ?? []) listener();
  }
}

export class SyncedCollection {
  /** @param {SyncClient} client @param {string} name */
  constructor(client, name) {
    this.client = client;
    this.name = name;
  }

  /** Create locally (with a client-chosen id, so a retried upload never makes two). */
  async create(data) {
    const id = data.id ?? newId();
    await this.client.enqueue(this.name, 'create', id, { ...data, id });
    return this.get(id);
  }

  async update(id, data) {
    if (!this.client.view(this.name).has(id)) throw new Error(`no record ${id} in ${this.name}`);
    await this.client.enqueue(this.name, 'update', id, data);
    return this.get(id);
  }

  async delete(id) {
    await this.client.enqueue(this.name, 'delete', id, undefined);
  }

  /** @returns {RecordData | undefined} */
  get(id) {
    const record = this.client.view(this.name).get(id);
    return record && structuredClone(record);
  }

  /**
   * @param {{filter?: (r: RecordData) => boolean, sort?: (a: RecordData, b: RecordData) => number}} [query]
   * @returns {RecordData[]}
   */
  list(query = {}) {
    let records = [...this.client.view(this.name).values()].map((r) => structuredClone(r));
    if (query.filter) records = records.filter(query.filter);
    return query.sort ? records.sort(query.sort) : records;
  }

  /**
   * Call ``callback`` with the query's records now and after every change (local write,
   * push or pull). Returns the function that stops it.
   */
  live(callback, query = {}) {
    const run = () => callback(this.list(query));
    let set = this.client.listeners.get(this.name);
    if (!set) this.client.listeners.set(this.name, (set = new Set()));
    set.add(run);
    run();
    return () => set.delete(run);
  }
}
