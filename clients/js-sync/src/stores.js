// Where a SyncClient keeps its copy: a small key-value interface with three backends
// (memory, a JSON file in Node, IndexedDB in browsers).
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

/**
 * A JSON file in Node: survives a restart of the process. Each write replaces the file
 * through a temporary file and a rename, so a crash leaves the old or the new copy, never
 * half of one. Suits the thousands of records a device holds; one process per file.
 * @implements {KeyValueStore}
 */
export class FileStore {
  /** @param {string} path the file (made on the first write) */
  constructor(path) {
    this.path = path;
    /** @type {Promise<Map<string, any>> | null} */
    this.loaded = null;
    /** @type {Promise<void>} */
    this.writing = Promise.resolve();
  }

  /** @returns {Promise<Map<string, any>>} */
  load() {
    if (!this.loaded) {
      this.loaded = (async () => {
        const { readFile } = await import('node:fs/promises');
        try {
          return new Map(Object.entries(JSON.parse(await readFile(this.path, 'utf8'))));
        } catch (error) {
          if (/** @type {any} */ (error).code === 'ENOENT') return new Map();
          throw error;
        }
      })();
    }
    return this.loaded;
  }

  async get(key) {
    return structuredClone((await this.load()).get(key));
  }

  async write(entries, removed = []) {
    const map = await this.load();
    for (const [key, value] of entries) map.set(key, structuredClone(value));
    for (const key of removed) map.delete(key);
    const text = JSON.stringify(Object.fromEntries(map));
    // One write at a time, in call order: the last one leaves the file as the map is.
    const write = this.writing.then(async () => {
      const { rename, writeFile } = await import('node:fs/promises');
      const temporary = `${this.path}.${process.pid}.tmp`;
      await writeFile(temporary, text);
      await rename(temporary, this.path);
    });
    this.writing = write.catch(() => undefined);
    await write;
  }

  async entries(prefix) {
    return [...(await this.load()).entries()]
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
