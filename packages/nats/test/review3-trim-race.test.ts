import { NatsBroker } from '@herald/nats';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

describe('review 3: reads racing trims of batched records', () => {
  it('another node publishing hundreds in records of several while one reads: contiguous, from since or oldest, to the position', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const options = { url: NATS_URL, prefix, historySize: 20, historyTtl: 0 };
    const a = await NatsBroker.connect(options);
    const b = await NatsBroker.connect(options);
    try {
      let stop = false;
      const bad: string[] = [];
      let reads = 0;
      const writer = (async () => {
        for (let wave = 0; wave < 300 && !stop; wave++)
          await Promise.all(Array.from({ length: 100 }, (_, i) => a.publish('hot', String(wave * 100 + i))));
        stop = true;
      })();
      const reader = (async () => {
        for (let round = 0; !stop && round < 1_000_000; round++) {
          const top = (await b.position('hot')).offset;
          const since = round % 3 === 0 ? undefined : Math.max(0, top - (round % 30));
          const limit = round % 4 === 0 ? 5 : undefined;
          const epoch = (await b.position('hot')).epoch;
          const r = await b.read('hot', {
            ...(since !== undefined && { since: { epoch, offset: since } }),
            ...(limit !== undefined && { limit }),
          });
          reads++;
          const offsets = r.messages.map((m) => m.offset);
          const label = `since ${since} limit ${limit}: oldest ${r.oldest} position ${r.position.offset} offsets ${offsets.join(',')}`;
          const contiguous = offsets.every((o, i) => i === 0 || o === offsets[i - 1]! + 1);
          const start = since !== undefined && since >= r.oldest - 1 && since <= r.position.offset ? since + 1 : r.oldest;
          if (!contiguous) bad.push(`not contiguous ${label}`);
          else if (offsets.length > 0 && offsets[0] !== start) bad.push(`wrong start ${label}`);
          else if (offsets.length > 0 && limit === undefined && offsets.at(-1) !== r.position.offset) bad.push(`short ${label}`);
          else if (offsets.some((o) => o < r.oldest || o > r.position.offset)) bad.push(`outside ${label}`);
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
