import { MemoryPresenceStore, type AckStoreLimits } from '@herald/server';
import { SqliteAckStore } from './sqlite-ack-store.js';
import { SqliteBroker, type SqliteBrokerOptions } from './sqlite-broker.js';
import { SqliteWebhookQueue } from './sqlite-webhook-queue.js';

/** A single-node engine: what `createHeraldServer` takes as `broker` and `presence`. */
export interface SqliteEngine {
  readonly broker: SqliteBroker;
  readonly presence: MemoryPresenceStore;
  /** The webhook queue, in the same file (on a connection of its own): `HeraldOptions.webhookQueue`. */
  readonly webhookQueue: SqliteWebhookQueue;
  /** The users' acknowledged positions, in the same file (on a connection of its own): `HeraldOptions.ackStore`. */
  readonly ackStore: SqliteAckStore;
}

/**
 * Pairs a {@link SqliteBroker} with presence in memory: logs survive a restart, presence does not
 * (after a restart every client is gone until it resubscribes, so no stale member is listed). The
 * webhook queue lives in the same file and survives too (with `':memory:'`, a private one of its own).
 *
 * @example createHeraldServer({ ...createSqliteEngine({ path: 'herald.db' }) })
 * @throws as {@link SqliteBroker}'s constructor
 */
export function createSqliteEngine(options: SqliteBrokerOptions & { readonly acks?: AckStoreLimits | undefined }): SqliteEngine {
  const broker = new SqliteBroker(options);
  let webhookQueue: SqliteWebhookQueue | undefined;
  let ackStore: SqliteAckStore;
  try {
    const common = { path: options.path, ...(options.synchronous && { synchronous: options.synchronous }) };
    webhookQueue = new SqliteWebhookQueue(common);
    ackStore = new SqliteAckStore({ ...common, ...options.acks });
  } catch (error) {
    void webhookQueue?.close();
    void broker.close();
    throw error;
  }
  return { broker, presence: new MemoryPresenceStore(), webhookQueue, ackStore };
}
