import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { OutboxItem, OutboxStore } from './outbox-store.js';

interface OutboxDb extends DBSchema {
  items: { key: string; value: OutboxItem; indexes: { hub: string } };
}

/** The IndexedDB database the outbox uses (one per origin, shared by every hub URL and user). */
export const OUTBOX_DB = 'herald-outbox';

/**
 * An {@link OutboxStore} in IndexedDB (database `herald-outbox`, via `idb`): queued publishes
 * survive a reload, and the next page's client for the same hub and user sends them.
 */
export function indexedDbOutboxStore(): OutboxStore {
  let db: Promise<IDBPDatabase<OutboxDb>> | undefined;
  const open = (): Promise<IDBPDatabase<OutboxDb>> =>
    (db ??= openDB<OutboxDb>(OUTBOX_DB, 1, {
      upgrade(database) {
        database.createObjectStore('items', { keyPath: 'id' }).createIndex('hub', 'hub');
      },
    }).catch((error: unknown) => {
      db = undefined;
      throw error;
    }));
  return {
    persistent: true,
    load: async (hub) => (await open()).getAllFromIndex('items', 'hub', hub),
    put: async (item) => {
      await (await open()).put('items', { ...item });
    },
    delete: async (id) => (await open()).delete('items', id),
  };
}
