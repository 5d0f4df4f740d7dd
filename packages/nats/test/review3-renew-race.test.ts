import { NatsBroker } from '@herald/nats';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

describe('review 3: renewEpoch racing batched publishes and reads', () => {
  it('reads stay contiguous in one epoch, quick, and publishes after a renewal restart at 1 in the new epoch', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const options = { url: NATS_URL, prefix, historySize: 500, historyTtl: 0 };
    const [a, b, c] = [await NatsBroker.connect(options), await NatsBroker.connect(options), await NatsBroker.connect(options)];
    try {
      let stop = false;
      const bad: string[] = [];
      let slowest = 0;
      const writer = (async () => {
        for (let wave = 0; wave < 100 && !stop; wave++) {
          const got = await Promise.all(Array.from({ length: 50 }, (_, i) => a.publish('r', String(wave * 50 + i))));
          const byEpoch = new Map<string, number[]>();
          for (const m of got) byEpoch.set(m.epoch, [...(byEpoch.get(m.epoch) ?? []), m.offset]);
          for (const [epoch, offsets] of byEpoch) {
            if (!offsets.every((o, i) => i === 0 || o === offsets[i - 1]! + 1)) bad.push(`publish ${epoch} ${offsets.join(',')}`);
          }
        }
        stop = true;
      })();
      const renewer = (async () => {
        for (let i = 0; i < 30 && !stop; i++) {
          await b.renewEpoch('r', await b.position('r'));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      const reader = (async () => {
        for (let round = 0; !stop && round < 100_000; round++) {
          const t = Date.now();
          const r = await c.read('r');
          slowest = Math.max(slowest, Date.now() - t);
          const offsets = r.messages.map((m) => m.offset);
          if (r.messages.some((m) => m.epoch !== r.position.epoch)) bad.push('mixed epochs');
          if (!offsets.every((o, i) => i === 0 || o === offsets[i - 1]! + 1)) bad.push(`hole ${offsets.join(',')}`);
          if (offsets.length > 0 && (offsets[0] !== r.oldest || offsets.at(-1) !== r.position.offset))
            bad.push(`ends ${r.oldest} ${r.position.offset}`);
        }
      })();
      await Promise.all([writer, renewer, reader]);
      expect(bad).toEqual([]);
      // Below the command timeout: no read waits out a consumer fetch whose last record was purged.
      expect(slowest).toBeLessThan(4000);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  }, 60_000);
});
