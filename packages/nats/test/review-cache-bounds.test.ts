import { NatsBroker } from '@herald/nats';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

describe('NatsBroker per-node caches (review 2)', () => {
  it('remembers the last record of 10,000 channels at most', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const broker = await NatsBroker.connect({ url: NATS_URL, prefix, historySize: 10, historyTtl: 0 });
    try {
      const channels = 10_050;
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < channels; i = next++) await broker.publish(`c${i}`, '1');
      };
      await Promise.all(Array.from({ length: 64 }, worker));
      expect(broker.cachedChannels.tails).toBe(10_000);
      expect(broker.cachedChannels.seqs).toBe(10_000);
      // The most recent channel is still known: its next publish follows on.
      expect(await broker.publish(`c${channels - 1}`, '2')).toMatchObject({ offset: 2 });
      expect(await broker.publish('c0', '2')).toMatchObject({ offset: 2 });
    } finally {
      await broker.close();
    }
  }, 120_000);
});
