import { MemoryPresenceStore } from '@herald/server';
import { SqliteBroker, type SqliteBrokerOptions } from './sqlite-broker.js';

/** A single-node engine: what `createHeraldServer` takes as `broker` and `presence`. */
export interface SqliteEngine {
  readonly broker: SqliteBroker;
  readonly presence: MemoryPresenceStore;
}

/**
 * Pairs a {@link SqliteBroker} with presence in memory: logs survive a restart, presence does not
 * (after a restart every client is gone until it resubscribes, so no stale member is listed).
 *
 * @example createHeraldServer({ ...createSqliteEngine({ path: 'herald.db' }) })
 * @throws as {@link SqliteBroker}'s constructor
 */
export function createSqliteEngine(options: SqliteBrokerOptions): SqliteEngine {
  return { broker: new SqliteBroker(options), presence: new MemoryPresenceStore() };
}
