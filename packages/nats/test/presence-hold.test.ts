import { NatsPresenceStore } from '@herald/nats';
import { runPresenceHoldContract } from '@herald/testkit';
import { afterAll } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

runPresenceHoldContract('nats', async (options) => {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return [
    await NatsPresenceStore.connect({ url: NATS_URL, prefix, ...options }),
    await NatsPresenceStore.connect({ url: NATS_URL, prefix, ...options }),
  ];
});
