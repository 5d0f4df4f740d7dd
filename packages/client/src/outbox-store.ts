/** One queued publish, as an {@link OutboxStore} keeps it. */
export interface OutboxItem {
  /** Unique id of the item (random), the store's key. */
  readonly id: string;
  /** The hub's base URL: one outbox per hub… */
  readonly hub: string;
  /** …and per user (the token's `sub`, `anonymous`, or `outbox.user`): sent only with that user's credentials. */
  readonly user: string;
  /** The idempotency key sent with every attempt. */
  readonly key: string;
  readonly channel: string;
  /** `data` as JSON (what the store keeps, and what the outbox's byte bound counts). */
  readonly json: string;
  /** `Date.now()` when `publish` was called. */
  readonly at: number;
  /** Order among items of the same millisecond. */
  readonly seq: number;
  /** `Date.now()` of the first attempt; absent while never sent. */
  sentAt?: number;
}

/**
 * Where an outbox keeps its items. The memory store loses them with the client; the IndexedDB
 * store (`store: 'indexeddb'`) keeps them across page loads.
 */
export interface OutboxStore {
  /** Whether items outlive the client (a later client for the same hub sends them). */
  readonly persistent: boolean;
  /** Every item kept for `hub`, any user, in no particular order. */
  load(hub: string): Promise<OutboxItem[]>;
  put(item: OutboxItem): Promise<void>;
  delete(id: string): Promise<void>;
}

/** An {@link OutboxStore} in memory: the items live as long as the store object. */
export function memoryOutboxStore(): OutboxStore {
  const items = new Map<string, OutboxItem>();
  return {
    persistent: false,
    load: (hub) => Promise.resolve([...items.values()].filter((item) => item.hub === hub).map((item) => ({ ...item }))),
    put: (item) => {
      items.set(item.id, { ...item });
      return Promise.resolve();
    },
    delete: (id) => {
      items.delete(id);
      return Promise.resolve();
    },
  };
}

/**
 * The store for `outbox({ store })`. IndexedDB's code (and `idb`) loads on first use; where the
 * database cannot be opened (a browser that refuses storage) the items are kept in memory.
 */
export function outboxStore(option: 'auto' | 'memory' | 'indexeddb' | OutboxStore | undefined): OutboxStore {
  if (typeof option === 'object') return option;
  if (option !== 'indexeddb' && (option === 'memory' || typeof globalThis.indexedDB === 'undefined')) return memoryOutboxStore();
  let store: Promise<OutboxStore> | undefined;
  const get = (): Promise<OutboxStore> =>
    (store ??= import('./outbox-idb.js').then(async ({ indexedDbOutboxStore }) => {
      const db = indexedDbOutboxStore();
      try {
        await db.load('');
        return db;
      } catch {
        return memoryOutboxStore();
      }
    }));
  return {
    persistent: true,
    load: async (hub) => (await get()).load(hub),
    put: async (item) => (await get()).put(item),
    delete: async (id) => (await get()).delete(id),
  };
}
