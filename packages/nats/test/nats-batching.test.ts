import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { BrokerMessage } from '@herald/server';
import { NatsBroker } from '@herald/nats';
import { eventually } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseBody, recordBody } from '../src/channel-log.js';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
const open: NatsBroker[] = [];
afterEach(async () => {
  for (const broker of open.splice(0)) await broker.close();
});
afterAll(() => deleteStreams(NATS_URL, prefixes));

async function broker(prefix: string, historySize?: number): Promise<NatsBroker> {
  if (!prefixes.includes(prefix)) prefixes.push(prefix);
  const opened = await NatsBroker.connect({ url: NATS_URL, prefix, ...(historySize !== undefined && { historySize }) });
  open.push(opened);
  return opened;
}

/** Records the stream holds for the channel's subject. */
async function stored(prefix: string, channel: string): Promise<number> {
  const nc = await connect({ servers: NATS_URL.replace('nats://', '') });
  try {
    const subject = `${prefix}.c.${channel.replaceAll('.', '%')}`;
    const info = await (await jetstreamManager(nc)).streams.info(prefix, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  } finally {
    await nc.close();
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('record bodies', () => {
  it('round-trip one message and several (spaces, commas, newlines, non-ASCII in envelopes)', () => {
    const one = '{"a":"x y, z"}';
    expect(parseBody(7, recordBody(3, 'ep-_1', 1000, [one]))).toEqual({ seq: 7, offset: 3, epoch: 'ep-_1', time: 1000, jsons: [one] });
    const jsons = ['{"a":1}', '{"b":"é ✓ 𝄞, 1 2"}', '{"c":\n"d"}', '""'];
    expect(parseBody(9, recordBody(41, 'e', 5, jsons))).toEqual({ seq: 9, offset: 44, epoch: 'e', time: 5, jsons });
    expect(parseBody(1, recordBody(0, 'marker', 5, ['']))).toEqual({ seq: 1, offset: 0, epoch: 'marker', time: 5, jsons: [''] });
  });

  it('refuses malformed bodies', () => {
    for (const body of ['', 'x e 1 {}', '1-3 e 1 1,1 ab', '1-2 e 1 1,1 abc', '3-2 e 1 1 a', '1-2 e 1 1,x ab', '-1 e 1 {}']) {
      expect(parseBody(1, body), body).toBeUndefined();
    }
  });
});

describe('NatsBroker appends publishes that queue behind one in flight together', () => {
  it('concurrent publishes on one channel: consecutive offsets in call order, fewer records, live and reads see each once', async () => {
    const prefix = testPrefix();
    const b = await broker(prefix);
    const live: BrokerMessage[] = [];
    b.setHandler({ onMessage: (m) => live.push(m), onPresenceEvent: () => undefined });
    await b.subscribe('hot');
    const published = await Promise.all(range(1, 300).map((i) => b.publish('hot', `{"i":${i}}`)));
    expect(published.map((m) => m.offset)).toEqual(range(1, 300));
    expect(published.map((m) => JSON.parse(m.json) as { data: unknown }).map((e) => e.data)).toEqual(range(1, 300).map((i) => ({ i })));
    // Batched: far fewer records than messages (the first goes alone, the rest queue behind it).
    expect(await stored(prefix, 'hot')).toBeLessThan(50);
    await eventually(() => live.length === 300, 'every message live');
    expect(live.map((m) => m.offset)).toEqual(range(1, 300));
    expect(live.map((m) => m.json)).toEqual(published.map((m) => m.json));
    // Reads from any offset, inside a record of several or at its edge, one by one or in batches.
    const all = await b.read('hot');
    expect(all.messages.map((m) => m.json)).toEqual(published.map((m) => m.json));
    for (const since of [0, 1, 2, 63, 64, 65, 150, 250, 298, 299, 300]) {
      const read = await b.read('hot', { since: { epoch: published[0]!.epoch, offset: since } });
      expect(
        read.messages.map((m) => m.offset),
        `since ${since}`,
      ).toEqual(range(since + 1, 300));
      const few = await b.read('hot', { since: { epoch: published[0]!.epoch, offset: since }, limit: 3 });
      expect(
        few.messages.map((m) => m.offset),
        `since ${since}, limit 3`,
      ).toEqual(range(since + 1, Math.min(300, since + 3)));
    }
    // Another node (no remembered sequences) reads the same.
    const other = await broker(prefix);
    const middle = await other.read('hot', { since: { epoch: published[0]!.epoch, offset: 137 }, limit: 5 });
    expect(middle.messages.map((m) => m.json)).toEqual(published.slice(137, 142).map((m) => m.json));
  });

  it('the history size hides the older part of a record of several: oldest is exact', async () => {
    const prefix = testPrefix();
    const b = await broker(prefix, 10);
    await Promise.all(range(1, 100).map((i) => b.publish('kept', String(i))));
    const read = await b.read('kept');
    expect(read.oldest).toBe(91);
    expect(read.messages.map((m) => m.offset)).toEqual(range(91, 100));
    const stale = await b.read('kept', { since: { epoch: read.position.epoch, offset: 50 } });
    expect(stale.messages.map((m) => m.offset)).toEqual(range(91, 100));
  });

  it('two nodes publishing concurrently to one channel: every offset once, contiguous', async () => {
    const prefix = testPrefix();
    const [a, b] = [await broker(prefix), await broker(prefix)];
    const results = await Promise.all([
      ...range(1, 150).map((i) => a.publish('raced', `"a${i}"`)),
      ...range(1, 150).map((i) => b.publish('raced', `"b${i}"`)),
    ]);
    expect(results.map((m) => m.offset).sort((x, y) => x - y)).toEqual(range(1, 300));
    const read = await a.read('raced');
    expect(read.messages.map((m) => m.offset)).toEqual(range(1, 300));
    expect(new Set(read.messages.map((m) => m.json))).toEqual(new Set(results.map((m) => m.json)));
    // Each node's own publishes keep their call order.
    const order = read.messages.map((m) => (JSON.parse(m.json) as { data: string }).data);
    expect(order.filter((d) => d.startsWith('a'))).toEqual(range(1, 150).map((i) => `a${i}`));
    expect(order.filter((d) => d.startsWith('b'))).toEqual(range(1, 150).map((i) => `b${i}`));
  });
});
