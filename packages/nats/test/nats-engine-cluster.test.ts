import { NatsBroker, NatsPresenceStore } from '@herald/nats';
import { runEngineContract, startNatsCluster } from '@herald/testkit';
import { afterAll } from 'vitest';
import { testPrefix } from './nats-helpers.js';

// The engine contract again, on a 3-server cluster with the stream and buckets replicated 3 times:
// appends and compare-and-sets race through a stream leader there, not a single server.
const cluster = startNatsCluster({ servers: 3 });
const prefix = testPrefix();

runEngineContract('nats cluster (R3)', async ({ historySize, historyTtl, clock }) => {
  const { url } = await cluster;
  const broker = await NatsBroker.connect({ url, prefix, replicas: 3, historySize, historyTtl, clock });
  const presence = await NatsPresenceStore.connect({ url, prefix, replicas: 3, clock });
  return { broker, presence };
});

afterAll(async () => {
  await (await cluster).close();
}, 30_000);
