import { NatsAckStore } from '@herald/nats';
import { runAckStoreContract } from '@herald/testkit';
import { afterAll } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
const prefixOf = new WeakMap<object, string>();
afterAll(() => deleteStreams(NATS_URL, prefixes));

runAckStoreContract(
  'nats',
  async (limits) => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const store = await NatsAckStore.connect({ url: NATS_URL, prefix, ...limits });
    prefixOf.set(store, prefix);
    return store;
  },
  (store, limits) => NatsAckStore.connect({ url: NATS_URL, prefix: prefixOf.get(store)!, ...limits }),
);
