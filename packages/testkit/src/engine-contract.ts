import { serializeEnvelope, type Broker, type BrokerMessage, type Clock, type PresenceEvent, type PresenceStore } from '@herald/server';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './eventually.js';
import { ManualClock } from './manual-clock.js';

/** What an engine factory receives: retention and a controllable clock. */
export interface EngineFactoryOptions {
  readonly historySize: number;
  /** Seconds; 0 = no age limit. */
  readonly historyTtl: number;
  readonly clock: Clock;
}

/** Creates a fresh engine (an empty log space) for one test. */
export type EngineFactory = (options: EngineFactoryOptions) => Promise<{ broker: Broker; presence: PresenceStore }>;

interface Recorder {
  messages: BrokerMessage[];
  events: PresenceEvent[];
}

function record(broker: Broker): Recorder {
  const recorder: Recorder = { messages: [], events: [] };
  broker.setHandler({ onMessage: (m) => recorder.messages.push(m), onPresenceEvent: (e) => recorder.events.push(e) });
  return recorder;
}

let counter = 0;
const channel = (): string => `contract-${Date.now().toString(36)}-${(counter++).toString(36)}`;

/**
 * The engine contract: every engine (memory, SQLite, Redis, …) must pass this suite unchanged.
 * `factory` is called once per test.
 */
export function runEngineContract(name: string, factory: EngineFactory): void {
  describe(`engine contract: ${name}`, () => {
    const open: { broker: Broker; presence: PresenceStore }[] = [];
    const clock = new ManualClock(1_700_000_000_000);
    const make = async (historySize = 100, historyTtl = 0) => {
      const engine = await factory({ historySize, historyTtl, clock });
      open.push(engine);
      return engine;
    };
    afterEach(async () => {
      for (const engine of open.splice(0)) {
        await engine.broker.close();
        await engine.presence.close();
      }
    });

    it('assigns offsets 1, 2, 3… in one epoch and stores the envelope', async () => {
      const { broker } = await make();
      const ch = channel();
      const a = await broker.publish(ch, '{"n":1}');
      const b = await broker.publish(ch, '"two"');
      expect([a.offset, b.offset]).toEqual([1, 2]);
      expect(b.epoch).toBe(a.epoch);
      expect(a.epoch).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      expect(JSON.parse(a.json)).toEqual({ type: 'message', channel: ch, offset: 1, epoch: a.epoch, time: a.time, data: { n: 1 } });
      expect(await broker.position(ch)).toEqual({ epoch: a.epoch, offset: 2 });
    });

    it('gives a message byte-identical envelopes from publish, live delivery and reads (as serializeEnvelope builds them)', async () => {
      const { broker } = await make();
      const seen = record(broker);
      // Every character class a channel name may hold, and data JSON with escapes, non-ASCII text,
      // exponents and nesting: an engine that builds the envelope itself (Redis in Lua) must splice
      // both in byte for byte, exactly as the TypeScript side does.
      const channels = [channel(), `${channel()}:Az09_-.@/=+,!~$`];
      const data = [
        '{"n":1}',
        '"caf\u00e9 \\u2028 \\"q\\" \\\\ \\/ \u{1F600}"',
        '[1,2.5,-3e+21,true,false,null]',
        '{"a":{"b":[{}]},"":""}',
        '0',
        '"</script>"',
      ];
      const published: { json: string; expected: string }[] = [];
      for (const ch of channels) {
        await broker.subscribe(ch);
        for (const [i, dataJson] of data.entries()) {
          clock.time += 1;
          // With and without an idempotency key: engines may store each through another path.
          const message =
            i % 2 === 0
              ? await broker.publish(ch, dataJson)
              : await broker.publish(ch, dataJson, { idempotencyKey: `k${i}`, idempotencyTtl: 10, fingerprint: 'fp' });
          if ('duplicate' in message) throw new Error('a first use of a key was taken for a duplicate');
          published.push({ json: message.json, expected: serializeEnvelope(ch, message.epoch, message.offset, message.time, dataJson) });
        }
      }
      const expected = published.map((p) => p.expected);
      expect(published.map((p) => p.json)).toEqual(expected);
      await eventually(() => seen.messages.length >= expected.length, `${expected.length} live messages`);
      expect(seen.messages.map((m) => m.json)).toEqual(expected);
      const reads = [];
      for (const ch of channels) {
        const all = await broker.read(ch);
        reads.push(...all.messages);
        // A read from a position may take another path than a read of the whole log.
        const after = await broker.read(ch, { since: { epoch: all.position.epoch, offset: 2 }, limit: 2 });
        expect(after.messages.map((m) => m.json)).toEqual(all.messages.slice(2, 4).map((m) => m.json));
      }
      expect(reads.map((m) => m.json)).toEqual(expected);
    });

    it('keeps offsets per channel', async () => {
      const { broker } = await make();
      const [x, y] = [channel(), channel()];
      await broker.publish(x, '1');
      await broker.publish(x, '2');
      expect((await broker.publish(y, '1')).offset).toBe(1);
      expect((await broker.publish(x, '3')).offset).toBe(3);
    });

    it('reports offset 0 for a channel never published to', async () => {
      const { broker } = await make();
      const ch = channel();
      const position = await broker.position(ch);
      expect(position.offset).toBe(0);
      const read = await broker.read(ch);
      expect(read).toEqual({ messages: [], position, oldest: 1 });
      expect((await broker.publish(ch, '1')).epoch).toBe(position.epoch);
    });

    it('reads the retained log oldest first, and exactly the messages after a position', async () => {
      const { broker } = await make();
      const ch = channel();
      for (let i = 1; i <= 10; i++) await broker.publish(ch, String(i));
      const all = await broker.read(ch);
      expect(all.messages.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(all.oldest).toBe(1);
      const after = await broker.read(ch, { since: { epoch: all.position.epoch, offset: 7 } });
      expect(after.messages.map((m) => m.offset)).toEqual([8, 9, 10]);
      const atTop = await broker.read(ch, { since: all.position });
      expect(atTop.messages).toEqual([]);
      const limited = await broker.read(ch, { since: { epoch: all.position.epoch, offset: 2 }, limit: 3 });
      expect(limited.messages.map((m) => m.offset)).toEqual([3, 4, 5]);
      expect(limited.position).toEqual(all.position);
    });

    it('bounds the log by size and reads from the oldest retained message when a position left the window', async () => {
      const { broker } = await make(5);
      const ch = channel();
      for (let i = 1; i <= 12; i++) await broker.publish(ch, String(i));
      const read = await broker.read(ch, { since: { epoch: (await broker.position(ch)).epoch, offset: 3 } });
      expect(read.oldest).toBe(8);
      expect(read.messages.map((m) => m.offset)).toEqual([8, 9, 10, 11, 12]);
      const edge = await broker.read(ch, { since: { epoch: read.position.epoch, offset: 7 } });
      expect(edge.messages.map((m) => m.offset)).toEqual([8, 9, 10, 11, 12]);
    });

    it('reads from the oldest retained message for a foreign epoch or a position beyond the end', async () => {
      const { broker } = await make();
      const ch = channel();
      for (let i = 1; i <= 3; i++) await broker.publish(ch, String(i));
      const foreign = await broker.read(ch, { since: { epoch: 'someotherepoch', offset: 2 } });
      expect(foreign.messages.map((m) => m.offset)).toEqual([1, 2, 3]);
      const { epoch } = await broker.position(ch);
      const ahead = await broker.read(ch, { since: { epoch, offset: 99 } });
      expect(ahead.messages.map((m) => m.offset)).toEqual([1, 2, 3]);
      expect(ahead.position).toEqual({ epoch, offset: 3 });
    });

    it('drops messages older than the age limit but keeps counting offsets', async () => {
      const { broker } = await make(100, 10);
      const ch = channel();
      await broker.publish(ch, '1');
      await broker.publish(ch, '2');
      clock.time += 11_000;
      await broker.publish(ch, '3');
      const read = await broker.read(ch);
      expect(read.messages.map((m) => m.offset)).toEqual([3]);
      expect(read.oldest).toBe(3);
      clock.time += 11_000;
      const empty = await broker.read(ch);
      expect(empty.messages).toEqual([]);
      expect(empty.position.offset).toBe(3);
      expect(empty.oldest).toBe(4);
      expect((await broker.publish(ch, '4')).offset).toBe(4);
    });

    it('delivers live messages of subscribed channels in offset order, and stops after unsubscribe', async () => {
      const { broker } = await make();
      const seen = record(broker);
      const [ch, other] = [channel(), channel()];
      await broker.subscribe(ch);
      for (let i = 1; i <= 5; i++) await broker.publish(ch, String(i));
      await broker.publish(other, '"not subscribed"');
      await eventually(() => seen.messages.length >= 5, '5 live messages');
      expect(seen.messages.map((m) => [m.channel, m.offset])).toEqual([1, 2, 3, 4, 5].map((o) => [ch, o]));
      await broker.unsubscribe(ch);
      await broker.publish(ch, '6');
      await broker.subscribe(other);
      await broker.publish(other, '"now subscribed"');
      await eventually(() => seen.messages.length >= 6, 'the other channel');
      expect(seen.messages.at(-1)?.channel).toBe(other);
      expect(seen.messages.filter((m) => m.channel === ch)).toHaveLength(5);
    });

    it('gives concurrent publishers distinct consecutive offsets, delivered in offset order', async () => {
      const { broker } = await make(1000);
      const seen = record(broker);
      const ch = channel();
      await broker.subscribe(ch);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, p) =>
          Promise.all(Array.from({ length: 20 }, (_, i) => broker.publish(ch, JSON.stringify({ p, i })))),
        ),
      );
      const offsets = results.flat().map((m) => m.offset);
      expect(new Set(offsets).size).toBe(200);
      expect(Math.min(...offsets)).toBe(1);
      expect(Math.max(...offsets)).toBe(200);
      await eventually(() => seen.messages.length >= 200, '200 live messages');
      expect(seen.messages.map((m) => m.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    it('an idempotency key used again within its lifetime stores nothing and returns the first position', async () => {
      const { broker } = await make();
      const seen = record(broker);
      const [ch, elsewhere] = [channel(), channel()];
      await broker.subscribe(ch);
      const key = (idempotencyKey: string, fingerprint = 'fp') => ({ idempotencyKey, idempotencyTtl: 10, fingerprint });
      const first = await broker.publish(ch, '"a"', key('k1', 'fp-a'));
      expect('duplicate' in first).toBe(false);
      expect(await broker.publish(ch, '"a again"', key('k1', 'fp-b'))).toEqual({
        duplicate: true,
        channel: ch,
        epoch: first.epoch,
        offset: 1,
        fingerprint: 'fp-a',
      });
      expect(await broker.publish(ch, '"b"', key('k2'))).toMatchObject({ offset: 2 });
      // Keys are per channel.
      expect('duplicate' in (await broker.publish(elsewhere, '"x"', key('k1')))).toBe(false);
      // Ten concurrent retries of one publish: one is stored.
      const retries = await Promise.all(Array.from({ length: 10 }, () => broker.publish(ch, '"c"', key('k3'))));
      expect(retries.filter((r) => !('duplicate' in r))).toHaveLength(1);
      expect(new Set(retries.map((r) => r.offset))).toEqual(new Set([3]));
      clock.time += 10_001;
      const later = await broker.publish(ch, '"a later"', key('k1'));
      expect('duplicate' in later).toBe(false);
      expect(later.offset).toBe(4);
      const read = await broker.read(ch);
      expect(read.messages.map((m) => JSON.parse(m.json).data)).toEqual(['a', 'b', 'c', 'a later']);
      await eventually(() => seen.messages.length >= 4, '4 live messages');
      expect(seen.messages.map((m) => m.offset)).toEqual([1, 2, 3, 4]);
    });

    it('keeps presence per channel, idempotent per client, and fans presence events out', async () => {
      const { broker, presence } = await make();
      const seen = record(broker);
      const ch = channel();
      await presence.add(ch, { client: 'c1', user: 'alice' });
      await presence.add(ch, { client: 'c1', user: 'alice' });
      await presence.add(ch, { client: 'c2', user: null });
      const members = await presence.list(ch);
      expect(members.sort((a, b) => a.client.localeCompare(b.client))).toEqual([
        { client: 'c1', user: 'alice' },
        { client: 'c2', user: null },
      ]);
      await presence.remove(ch, 'c1');
      await presence.remove(ch, 'absent');
      expect(await presence.list(ch)).toEqual([{ client: 'c2', user: null }]);
      expect(await presence.list(channel())).toEqual([]);
      await broker.subscribe(ch);
      await broker.publishPresenceEvent({ type: 'join', channel: ch, client: 'c3', user: 'bob' });
      await eventually(() => seen.events.length >= 1, 'a presence event');
      expect(seen.events).toEqual([{ type: 'join', channel: ch, client: 'c3', user: 'bob' }]);
    });

    it("keeps a member's info (any JSON) in presence and in presence events; members without info have no info field", async () => {
      const { broker, presence } = await make();
      const seen = record(broker);
      const ch = channel();
      const info = { name: 'Alice', tags: ['a', 1, null], nested: { ok: true } };
      await presence.add(ch, { client: 'c1', user: 'alice', info });
      await presence.add(ch, { client: 'c2', user: null, info: 'plain text' });
      await presence.add(ch, { client: 'c3', user: 'carol' });
      const members = await presence.list(ch);
      expect(members.sort((a, b) => a.client.localeCompare(b.client))).toEqual([
        { client: 'c1', user: 'alice', info },
        { client: 'c2', user: null, info: 'plain text' },
        { client: 'c3', user: 'carol' },
      ]);
      expect(members.find((m) => m.client === 'c3')).not.toHaveProperty('info');
      // Re-added without info (a new subscription of the same client): the info goes.
      await presence.add(ch, { client: 'c1', user: 'alice' });
      expect((await presence.list(ch)).find((m) => m.client === 'c1')).toEqual({ client: 'c1', user: 'alice' });
      await broker.subscribe(ch);
      await broker.publishPresenceEvent({ type: 'join', channel: ch, client: 'c4', user: 'dave', info: { seat: 4 } });
      await broker.publishPresenceEvent({ type: 'leave', channel: ch, client: 'c4', user: 'dave', info: { seat: 4 } });
      await eventually(() => seen.events.length >= 2, 'two presence events');
      expect(seen.events).toEqual([
        { type: 'join', channel: ch, client: 'c4', user: 'dave', info: { seat: 4 } },
        { type: 'leave', channel: ch, client: 'c4', user: 'dave', info: { seat: 4 } },
      ]);
    });

    it('property: resuming from any position yields every later retained message once, in order', async () => {
      const { broker } = await make(50);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 100 }), async (count, from) => {
          const ch = channel();
          for (let i = 0; i < count; i++) await broker.publish(ch, String(i));
          const { epoch } = await broker.position(ch);
          const read = await broker.read(ch, { since: { epoch, offset: Math.min(from, count) } });
          const offsets = read.messages.map((m) => m.offset);
          const oldest = Math.max(1, count - 49);
          const start = Math.min(from, count) >= oldest - 1 ? Math.min(from, count) + 1 : oldest;
          expect(offsets).toEqual(Array.from({ length: Math.max(0, count - start + 1) }, (_, i) => start + i));
          for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBe(offsets[i - 1]! + 1);
        }),
        { numRuns: 40 },
      );
    });
  });
}
