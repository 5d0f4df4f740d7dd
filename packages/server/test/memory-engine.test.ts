import { MemoryAckStore, MemoryBroker, MemoryPresenceStore } from '@herald/server';
import { runAckStoreContract, runEngineContract } from '@herald/testkit';

runEngineContract('memory', ({ historySize, historyTtl, clock }) =>
  Promise.resolve({ broker: new MemoryBroker({ historySize, historyTtl, clock }), presence: new MemoryPresenceStore() }),
);

runAckStoreContract('memory', (limits) => Promise.resolve(new MemoryAckStore(limits)));
