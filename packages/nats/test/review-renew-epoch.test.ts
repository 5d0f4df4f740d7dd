import { NatsBroker } from '@herald/nats';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

describe('NatsBroker.renewEpoch racing on two nodes (review 2)', () => {
  it('renewals of one position from two nodes at once change the epoch once; publishes go on from 1', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const options = { url: NATS_URL, prefix, historySize: 100, historyTtl: 0 };
    const a = await NatsBroker.connect(options);
    const b = await NatsBroker.connect(options);
    try {
      for (let round = 0; round < 20; round++) {
        const channel = `renew${round}`;
        await a.publish(channel, '1');
        const seen = await a.position(channel);
        await Promise.all([a.renewEpoch(channel, seen), b.renewEpoch(channel, seen)]);
        const after = await b.position(channel);
        expect(after.epoch).not.toBe(seen.epoch);
        expect(after.offset).toBe(0);
        expect(await a.position(channel)).toEqual(after);
        expect(await b.publish(channel, '2')).toMatchObject({ epoch: after.epoch, offset: 1 });
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
