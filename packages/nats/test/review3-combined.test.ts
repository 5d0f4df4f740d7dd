import type { BrokerMessage, ReadResult } from '@herald/server';
import { NatsBroker } from '@herald/nats';
import { ManualClock } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
const open: NatsBroker[] = [];
afterEach(async () => {
  for (const broker of open.splice(0)) await broker.close();
});
afterAll(() => deleteStreams(NATS_URL, prefixes));

async function node(prefix: string, historySize: number): Promise<NatsBroker> {
  if (!prefixes.includes(prefix)) prefixes.push(prefix);
  const broker = await NatsBroker.connect({ url: NATS_URL, prefix, historySize, historyTtl: 0 });
  open.push(broker);
  return broker;
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const data = (m: BrokerMessage): unknown => (JSON.parse(m.json) as { data: unknown }).data;

/** What a read from `since` with `limit` must give, with the retained window `oldest..top`. */
function expected(since: number, limit: number | undefined, oldest: number, top: number): number[] {
  const after = since >= oldest - 1 && since <= top ? since : oldest - 1;
  return range(after + 1, Math.min(top, after + Math.min(limit ?? Infinity, top - oldest + 1)));
}

function check(read: ReadResult, since: number, limit: number | undefined, oldest: number, top: number, label: string): void {
  expect(read.oldest, label).toBe(oldest);
  expect(read.position.offset, label).toBe(top);
  expect(
    read.messages.map((m) => m.offset),
    label,
  ).toEqual(expected(since, limit, oldest, top));
}

describe('review 3: batched records combined with the review fixes', () => {
  it('keyed publishes interleaved with batched ones on two nodes: contiguous offsets, each keyed duplicate answers its own message', async () => {
    const prefix = testPrefix();
    const [a, b] = [await node(prefix, 10_000), await node(prefix, 10_000)];
    const keyed = (n: NatsBroker, i: number) =>
      n.publish('mix', `"k${i}"`, { idempotencyKey: `key-${i}`, idempotencyTtl: 60, fingerprint: `fp${i}` });
    const calls: Promise<BrokerMessage | { duplicate: true; offset: number }>[] = [];
    for (let i = 0; i < 240; i++) {
      const n = i % 2 === 0 ? a : b;
      calls.push(i % 8 === 3 ? keyed(n, i) : n.publish('mix', `"p${i}"`));
    }
    const results = await Promise.all(calls);
    const offsets = results.map((r) => r.offset).sort((x, y) => x - y);
    expect(offsets).toEqual(range(1, 240));
    const read = await a.read('mix');
    expect(read.messages.map((m) => m.offset)).toEqual(range(1, 240));
    const byOffset = new Map(read.messages.map((m) => [m.offset, data(m)]));
    for (let i = 0; i < 240; i++) expect(byOffset.get(results[i]!.offset), `publish ${i}`).toBe(i % 8 === 3 ? `k${i}` : `p${i}`);
    // Retries of every keyed publish, from either node, answer its own position.
    for (let i = 3; i < 240; i += 8) {
      const again = await keyed(i % 4 === 3 ? b : a, i);
      expect(again, `retry ${i}`).toMatchObject({ duplicate: true, offset: results[i]!.offset, fingerprint: `fp${i}` });
    }
  });

  it('reads from every since, with limits, when the history size cuts through a record (writer and a fresh node)', async () => {
    const prefix = testPrefix();
    const a = await node(prefix, 50);
    const published = await Promise.all(range(1, 100).map((i) => a.publish('cut', String(i))));
    const b = await node(prefix, 50);
    const epoch = published[0]!.epoch;
    for (const reader of [a, b]) {
      for (let since = 0; since <= 100; since++) {
        for (const limit of [undefined, 1, 3, 40]) {
          const read = await reader.read('cut', { since: { epoch, offset: since }, ...(limit !== undefined && { limit }) });
          check(read, since, limit, 51, 100, `${reader === a ? 'a' : 'b'} since ${since} limit ${limit}`);
        }
      }
    }
  }, 60_000);

  it('an epoch marker between batched records: reads, positions and live after renewEpoch', async () => {
    const prefix = testPrefix();
    const a = await node(prefix, 30);
    const b = await node(prefix, 30);
    const live: BrokerMessage[] = [];
    b.setHandler({ onMessage: (m) => live.push(m), onPresenceEvent: () => undefined });
    await b.subscribe('renewed');
    await Promise.all(range(1, 70).map((i) => a.publish('renewed', String(i))));
    const seen = await a.position('renewed');
    await b.renewEpoch('renewed', seen);
    const marker = await a.read('renewed');
    expect(marker.position.epoch).not.toBe(seen.epoch);
    expect(marker).toMatchObject({ messages: [], position: { offset: 0 }, oldest: 1 });
    const published = await Promise.all(range(1, 80).map((i) => a.publish('renewed', String(i))));
    expect(published.map((m) => m.offset)).toEqual(range(1, 80));
    expect(new Set(published.map((m) => m.epoch))).toEqual(new Set([marker.position.epoch]));
    for (const reader of [a, b]) {
      for (let since = 0; since <= 80; since += 1) {
        for (const limit of [undefined, 2, 35]) {
          const read = await reader.read('renewed', {
            since: { epoch: marker.position.epoch, offset: since },
            ...(limit !== undefined && { limit }),
          });
          check(read, since, limit, 51, 80, `since ${since} limit ${limit}`);
        }
      }
      const stale = await reader.read('renewed', { since: seen });
      check(stale, -1, undefined, 51, 80, 'since the old epoch');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(live.filter((m) => m.epoch === marker.position.epoch).map((m) => m.offset)).toEqual(range(1, 80));
  }, 60_000);
  it('concurrent retries of keyed publishes on two nodes amid batched traffic: each key stored once, every retry answers its message', async () => {
    const prefix = testPrefix();
    const [a, b] = [await node(prefix, 10_000), await node(prefix, 10_000)];
    const calls: Promise<BrokerMessage | { duplicate: true; offset: number }>[] = [];
    for (let i = 0; i < 200; i++) {
      const n = i % 3 === 0 ? a : b;
      calls.push(n.publish('retry', `"p${i}"`));
      if (i % 10 === 0) {
        const k = i / 10;
        for (const m of [a, b, a, b])
          calls.push(m.publish('retry', `"k${k}"`, { idempotencyKey: `k${k}`, idempotencyTtl: 60, fingerprint: `f${k}` }));
      }
    }
    const results = await Promise.all(calls);
    const read = await b.read('retry');
    expect(read.messages.map((m) => m.offset)).toEqual(range(1, 220));
    const byOffset = new Map(read.messages.map((m) => [m.offset, data(m)]));
    const keyedAt = new Map<unknown, number>();
    for (const m of read.messages) if (String(data(m)).startsWith('k')) keyedAt.set(data(m), m.offset);
    expect(keyedAt.size).toBe(20);
    for (const r of results) {
      const d = byOffset.get(r.offset);
      if ('duplicate' in r) expect(String(d)).toMatch(/^k/);
    }
    let c = 0;
    for (let i = 0; i < 200; i++) {
      expect(byOffset.get(results[c]!.offset)).toBe(`p${i}`);
      c++;
      if (i % 10 === 0) {
        for (let j = 0; j < 4; j++) expect(results[c + j]!.offset, `key ${i / 10}`).toBe(keyedAt.get(`k${i / 10}`));
        c += 4;
      }
    }
  });
  it('historyTtl hides whole records of several and trims cut there (hub clock)', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const clock = new ManualClock(1_700_000_000_000);
    const a = await NatsBroker.connect({ url: NATS_URL, prefix, historySize: 1000, historyTtl: 10, clock });
    open.push(a);
    await Promise.all(range(1, 100).map((i) => a.publish('ttl', String(i))));
    clock.time += 5_000;
    await Promise.all(range(101, 200).map((i) => a.publish('ttl', String(i))));
    clock.time += 6_000;
    const epoch = (await a.position('ttl')).epoch;
    for (let since = 0; since <= 200; since += 7) {
      for (const limit of [undefined, 3, 50]) {
        check(
          await a.read('ttl', { since: { epoch, offset: since }, ...(limit !== undefined && { limit }) }),
          since,
          limit,
          101,
          200,
          `since ${since}`,
        );
      }
    }
    await Promise.all(range(201, 300).map((i) => a.publish('ttl', String(i))));
    const b = await node(prefix, 1000);
    const read = await a.read('ttl', { since: { epoch, offset: 120 } });
    check(read, 120, undefined, 101, 300, 'after the trim');
    expect((await b.read('ttl')).messages.length).toBeGreaterThanOrEqual(200);
  });
});
