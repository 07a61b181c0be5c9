// Where a SyncClient keeps its copy: a small key-value interface with two backends.
// Keys are strings ("r/<collection>/<id>", "c/<collection>", "q/<number>"); values are JSON-able.

/**
 * @typedef {object} KeyValueStore
 * @property {(key: string) => Promise<any>} get
 * @property {(entries: Array<[string, any]>, removed?: string[]) => Promise<void>} write
 *   Sets every entry and deletes every removed key, all or nothing.
 * @property {(prefix: string) => Promise<Array<[string, any]>>} entries  Sorted by key.
 */

/** In memory: Node, tests, or a page that keeps nothing across reloads. @implements {KeyValueStore} */
export class MemoryStore {
  constructor() {
    /** @type {Map<string, any>} */
    this.map = new Map();
  }

  async get(key) {
    return structuredClone(this.map.get(key));
  }

  async write(entries, removed = []) {
    for (const [key, value] of entries) this.map.set(key, structuredClone(value));
    for (const key of removed) this.map.delete(key);
  }

  async entries(prefix) {
    return [...this.map.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => [key, structuredClone(value)]);
  }
}

/** IndexedDB in browsers: survives reloads and going offline. @implements {KeyValueStore} */
export class IndexedDBStore {
  /** @param {string} [name] the database name (one per app and user) */
  constructor(name = 'keelbase-sync') {
    this.name = name;
    /** @type {Promise<IDBDatabase> | null} */
    this.db = null;
  }

  /** @returns {Promise<IDBDatabase>} */
  open() {
    if (!this.db) {
      this.db = new Promise((resolve, reject) => {
        const request = indexedDB.open(this.name, 1);
        request.onupgradeneeded = () => request.result.createObjectStore('kv');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return this.db;
  }

  async get(key) {
    const db = await this.open();
    return done(db.transaction('kv').objectStore('kv').get(key));
  }

  async write(entries, removed = []) {
    const db = await this.open();
    const tx = db.transaction('kv', 'readwrite');
    const kv = tx.objectStore('kv');
    for (const [key, value] of entries) kv.put(value, key);
    for (const key of removed) kv.delete(key);
    await new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve(undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  async entries(prefix) {
    const db = await this.open();
    const kv = db.transaction('kv').objectStore('kv');
    const range = IDBKeyRange.bound(prefix, prefix + '\uffff');
    const [keys, values] = await Promise.all([done(kv.getAllKeys(range)), done(kv.getAll(range))]);
    return keys.map((key, i) => [String(key), values[i]]);
  }
}

/** @param {IDBRequest} request */
function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** IndexedDB where there is one, memory otherwise. */
export function defaultStore() {
  return typeof indexedDB !== 'undefined' ? new IndexedDBStore() : new MemoryStore();
}
