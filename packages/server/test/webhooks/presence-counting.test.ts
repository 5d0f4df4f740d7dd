import { MemoryPresenceStore } from '@herald/server';
import { runPresenceCountingContract } from '@herald/testkit';

// The memory store, which the SQLite engine uses too (its presence lives in memory).
runPresenceCountingContract(
  'memory',
  () => Promise.resolve(new MemoryPresenceStore()),
  (store) => Promise.resolve(store),
);
