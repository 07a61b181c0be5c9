// Type declarations for keelbase-sync (the code is plain ESM JavaScript in index.js and
// stores.js). Kept by hand: tests/e2e/test_js_sync.py checks them with `tsc --noEmit`
// against test/types/check.ts and compares their names with what the modules export.

import type PocketBase from 'pocketbase';

/** A record as the server serves it: an id, usually ``updated``, and its fields. */
export interface RecordData {
  id: string;
  updated?: string;
  [field: string]: any;
}

/** A queued local write; ``base`` is the server's ``updated`` it was made against. */
export interface Operation {
  n: number;
  collection: string;
  action: 'create' | 'update' | 'delete';
  id: string;
  data?: Record<string, any>;
  base?: string;
}

/**
 * A local write the server did not take: ``conflict`` (someone else changed the record
 * first; ``server`` is their version), ``missing`` (gone or no longer visible),
 * ``rejected`` (the server refused it, e.g. a validation error).
 */
export interface Conflict {
  kind: 'conflict' | 'missing' | 'rejected';
  operation: Operation;
  server?: RecordData;
  error?: any;
}

/**
 * The app's conflict policy: return fields to write again on top of the server's
 * version, or nothing to let the server's version stand (the default).
 */
export type ConflictHook = (
  conflict: Conflict,
) => Record<string, any> | void | Promise<Record<string, any> | void>;

/** Where a SyncClient keeps its copy. Keys are strings, values JSON-able. */
export interface KeyValueStore {
  get(key: string): Promise<any>;
  /** Sets every entry and deletes every removed key, all or nothing. */
  write(entries: Array<[string, any]>, removed?: string[]): Promise<void>;
  /** Every entry whose key starts with ``prefix``, sorted by key. */
  entries(prefix: string): Promise<Array<[string, any]>>;
}

export interface SyncOptions {
  /** The collections to keep. */
  collections: string[];
  /** IndexedDB in browsers, memory elsewhere (FileStore: a file in Node). */
  store?: KeyValueStore;
  onConflict?: ConflictHook;
  /** Pull when the server announces a change (default: when EventSource exists). */
  realtime?: boolean;
  /** An ``expand`` per collection. */
  expand?: Record<string, string>;
  /**
   * Milliseconds between checkpoint checks made by syncs (default 60000; 0: never):
   * they find records that left this user's view without being written.
   */
  verifyEvery?: number;
}

export interface Query {
  filter?: (record: RecordData) => boolean;
  sort?: (a: RecordData, b: RecordData) => number;
}

export interface SyncResult {
  /** False when the network (or the server) could not be reached: the queue stays. */
  online: boolean;
}

/** A new record id like PocketBase's: 15 characters of [a-z0-9]. */
export function newId(): string;

/** The checkpoint's checksum over records: SHA-256 of "<id>\t<updated>\n" sorted by id. */
export function checksum(records: Array<{ id: string; updated?: string | null }>): Promise<string>;

export class SyncClient {
  constructor(pb: PocketBase, options: SyncOptions);
  readonly pb: PocketBase;
  readonly store: KeyValueStore;
  /** Local writes the server did not take, kept for the app. */
  conflicts: Conflict[];
  /** Whether the last sync reached the server. */
  online: boolean;
  /** Local writes not yet accepted by the server. */
  readonly pending: number;
  /** Load the local copy, then sync once if the network allows (never throws when offline). */
  start(): Promise<this>;
  stop(): Promise<void>;
  collection(name: string): SyncedCollection;
  /** Push the queue in order, then pull every collection. */
  sync(): Promise<SyncResult>;
  /** Start a sync without waiting for it. */
  schedule(): void;
  /** Follow one collection's feed to its end; false when offline. */
  pull(name: string): Promise<boolean>;
  /**
   * Pull every collection again from a snapshot on the next sync. Done on its own when
   * the signed-in user changes (at start or while running).
   */
  restart(): Promise<void>;
  /** Compare with the server's checkpoint and resync on drift; true when they agreed at once. */
  verify(name: string): Promise<boolean>;
}

export class SyncedCollection {
  constructor(client: SyncClient, name: string);
  readonly client: SyncClient;
  readonly name: string;
  /** Create locally, with a client-chosen id so that a retried upload never makes two. */
  create(data: Record<string, any>): Promise<RecordData>;
  update(id: string, data: Record<string, any>): Promise<RecordData | undefined>;
  delete(id: string): Promise<void>;
  get(id: string): RecordData | undefined;
  list(query?: Query): RecordData[];
  /** Call ``callback`` now and after every change; returns the function that stops it. */
  live(callback: (records: RecordData[]) => void, query?: Query): () => void;
}

/** In memory: Node, tests, or a page that keeps nothing across reloads. */
export class MemoryStore implements KeyValueStore {
  constructor();
  get(key: string): Promise<any>;
  write(entries: Array<[string, any]>, removed?: string[]): Promise<void>;
  entries(prefix: string): Promise<Array<[string, any]>>;
}

/** A JSON file in Node, replaced atomically on each write: survives a restart. */
export class FileStore implements KeyValueStore {
  constructor(path: string);
  readonly path: string;
  get(key: string): Promise<any>;
  write(entries: Array<[string, any]>, removed?: string[]): Promise<void>;
  entries(prefix: string): Promise<Array<[string, any]>>;
}

/** IndexedDB in browsers: survives reloads and going offline. */
export class IndexedDBStore implements KeyValueStore {
  /** @param name the database name (one per app and user) */
  constructor(name?: string);
  readonly name: string;
  get(key: string): Promise<any>;
  write(entries: Array<[string, any]>, removed?: string[]): Promise<void>;
  entries(prefix: string): Promise<Array<[string, any]>>;
}
