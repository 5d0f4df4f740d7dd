import { MemoryBroker, MemoryPresenceStore } from '@herald/server';
import { runEngineContract } from '@herald/testkit';

runEngineContract('memory', ({ historySize, historyTtl, clock }) =>
  Promise.resolve({ broker: new MemoryBroker({ historySize, historyTtl, clock }), presence: new MemoryPresenceStore() }),
);
