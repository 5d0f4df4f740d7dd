import { NatsBroker } from '@herald/nats';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

describe('NatsBroker reads racing trims (review 2)', () => {
  it('a read while another node trims the channel returns contiguous offsets from `oldest` to the position', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    // A small history: node A trims the channel every 64th offset; node B reads it meanwhile.
    const options = { url: NATS_URL, prefix, historySize: 20, historyTtl: 0 };
    const a = await NatsBroker.connect(options);
    const b = await NatsBroker.connect(options);
    try {
      let stop = false;
      const bad: string[] = [];
      let reads = 0;
      const writer = (async () => {
        for (let i = 0; i < 3000 && !stop; i++) await a.publish('hot', String(i));
        stop = true;
      })();
      const reader = (async () => {
        for (let round = 0; !stop && round < 1_000_000; round++) {
          const r = await b.read('hot');
          reads++;
          const offsets = r.messages.map((m) => m.offset);
          const contiguous = offsets.every((o, i) => i === 0 || o === offsets[i - 1]! + 1);
          if (!contiguous || (offsets.length > 0 && (offsets[0] !== r.oldest || offsets.at(-1) !== r.position.offset)))
            bad.push(`oldest ${r.oldest} position ${r.position.offset} offsets ${offsets.join(',')}`);
        }
      })();
      await Promise.all([writer, reader]);
      expect(reads).toBeGreaterThan(10);
      expect(bad).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);
});
