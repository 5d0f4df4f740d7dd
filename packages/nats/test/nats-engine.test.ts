import { NatsBroker, NatsPresenceStore } from '@herald/nats';
import { runEngineContract } from '@herald/testkit';
import { afterAll } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

// One stream per run (its channels are fresh per test): creating a stream per test costs more.
const prefix = testPrefix();

runEngineContract('nats', async ({ historySize, historyTtl, clock }) => {
  const broker = await NatsBroker.connect({ url: NATS_URL, prefix, historySize, historyTtl, clock });
  const presence = await NatsPresenceStore.connect({ url: NATS_URL, prefix, clock });
  return { broker, presence };
});

afterAll(async () => {
  await deleteStreams(NATS_URL, [prefix]);
});
