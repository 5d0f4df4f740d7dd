import { randomUUID } from 'node:crypto';
import type { WebhookEvent } from '@herald/protocol';
import type { WebhookQueue } from '@herald/server';
import { afterEach, describe, expect, it } from 'vitest';

/** Opens a webhook queue on `store` (a name): a new name is an empty queue, the same name the same queue. */
export type WebhookQueueFactory = (store: string) => Promise<WebhookQueue>;

const T0 = 1_700_000_000_000;

/** A `channel_occupied` event at `time` (a fresh id unless given). */
export function webhookEvent(time: number, id: string = randomUUID()): WebhookEvent {
  return { id, type: 'channel_occupied', time, channel: `c-${id.slice(0, 8)}` };
}

/**
 * The webhook queue contract: every engine's queue (memory, SQLite, Redis) must pass it unchanged.
 * `factory` is called for each queue a test needs; with `shared`, two queues opened on one store
 * are two nodes sharing it (Redis: one prefix; SQLite: one file).
 */
export function runWebhookQueueContract(name: string, factory: WebhookQueueFactory, shared: boolean): void {
  describe(`webhook queue contract: ${name}`, () => {
    const open: WebhookQueue[] = [];
    const make = async (store: string): Promise<WebhookQueue> => {
      const queue = await factory(store);
      open.push(queue);
      return queue;
    };
    const fresh = (): Promise<WebhookQueue> => make(randomUUID());
    afterEach(async () => {
      await Promise.all(open.splice(0).map((q) => q.close()));
    });

    it('claims due events oldest first, at most max, and leases them', async () => {
      const q = await fresh();
      const events = [webhookEvent(T0 + 2), webhookEvent(T0), webhookEvent(T0 + 1), webhookEvent(T0 + 50)];
      await q.add(events);
      expect(await q.counts()).toMatchObject({ queued: 4, dead: 0 });
      const first = await q.claim('a', 2, 1000, T0 + 10);
      expect(first.map((w) => w.event)).toEqual([events[1], events[2]]);
      expect(first.map((w) => w.attempts)).toEqual([0, 0]);
      // Leased until T0 + 1010: only the third due one, and the one due at T0 + 50 is not yet due.
      expect((await q.claim('a', 10, 1000, T0 + 20)).map((w) => w.event.id)).toEqual([events[0]!.id]);
      expect(await q.claim('a', 10, 1000, T0 + 30)).toEqual([]);
      expect((await q.claim('a', 10, 1000, T0 + 50)).map((w) => w.event.id)).toEqual([events[3]!.id]);
    });

    it('keeps an event of one add once; an id added again is ignored', async () => {
      const q = await fresh();
      const event = webhookEvent(T0);
      await q.add([event, event]);
      await q.add([event]);
      expect((await q.claim('a', 10, 1000, T0)).map((w) => w.event)).toEqual([event]);
      expect(await q.counts()).toMatchObject({ queued: 1 });
    });

    it('claims every event of one millisecond', async () => {
      const q = await fresh();
      const events = Array.from({ length: 20 }, () => webhookEvent(T0));
      await q.add(events);
      const claimed = await q.claim('a', 20, 1000, T0);
      expect(new Set(claimed.map((w) => w.event.id))).toEqual(new Set(events.map((e) => e.id)));
    });

    it('an expired lease makes the event claimable again (takeover), with its attempts', async () => {
      const q = await fresh();
      const event = webhookEvent(T0);
      await q.add([event]);
      expect(await q.claim('a', 10, 1000, T0)).toHaveLength(1);
      expect(await q.claim('b', 10, 1000, T0 + 999)).toEqual([]);
      expect((await q.claim('b', 10, 1000, T0 + 1000)).map((w) => w.event)).toEqual([event]);
    });

    it('ack deletes; retry releases with a new due time, attempts and error', async () => {
      const q = await fresh();
      const [a, b] = [webhookEvent(T0), webhookEvent(T0 + 1)];
      await q.add([a, b]);
      await q.claim('n', 10, 30_000, T0 + 1);
      await q.ack([a.id]);
      await q.retry(b.id, 1, T0 + 500, 'HTTP 500');
      expect(await q.counts()).toMatchObject({ queued: 1, dead: 0 });
      expect(await q.claim('n', 10, 30_000, T0 + 499)).toEqual([]);
      expect(await q.claim('n', 10, 30_000, T0 + 500)).toEqual([
        { event: b, attempts: 1, lastError: 'HTTP 500', lease: expect.any(String) },
      ]);
      // Outcomes of ids no longer queued change nothing.
      await q.ack([a.id, 'missing']);
      await q.retry(a.id, 3, T0, 'late');
      await q.bury(a.id, 3, 'late', T0);
      expect(await q.counts()).toMatchObject({ queued: 1, dead: 0 });
      expect(await q.dead(10)).toEqual([]);
    });

    it('bury moves to the dead-letter list, paged by seq; replay brings letters back with attempts reset', async () => {
      const q = await fresh();
      const events = [webhookEvent(T0), webhookEvent(T0 + 1), webhookEvent(T0 + 2)];
      await q.add(events);
      await q.claim('n', 10, 30_000, T0 + 5);
      for (const [i, e] of events.entries()) await q.bury(e.id, 10, `HTTP 50${i}`, T0 + 100 + i);
      expect(await q.counts()).toMatchObject({ queued: 0, dead: 3 });
      const all = await q.dead(10);
      expect(all).toEqual(
        events.map((event, i) => ({ event, attempts: 10, lastError: `HTTP 50${i}`, diedAt: T0 + 100 + i, seq: expect.any(Number) })),
      );
      expect(all[0]!.seq).toBeLessThan(all[1]!.seq);
      expect(all[1]!.seq).toBeLessThan(all[2]!.seq);
      const page = await q.dead(2);
      expect(page.map((l) => l.event.id)).toEqual([events[0]!.id, events[1]!.id]);
      expect((await q.dead(2, page[1]!.seq)).map((l) => l.event.id)).toEqual([events[2]!.id]);
      // A dead id is not queued again by add, nor claimed.
      await q.add([events[0]!]);
      expect(await q.claim('n', 10, 30_000, T0 + 60_000)).toEqual([]);
      expect(await q.replay([events[1]!.id, 'missing'])).toBe(1);
      expect(await q.claim('n', 10, 30_000, T0 + 60_000)).toEqual([{ event: events[1], attempts: 0, lease: expect.any(String) }]);
      expect(await q.replay('all')).toBe(2);
      expect(await q.replay('all')).toBe(0);
      expect(await q.counts()).toMatchObject({ queued: 3, dead: 0 });
      expect((await q.claim('n', 10, 30_000, T0 + 120_000)).map((w) => w.event.id).sort()).toEqual(events.map((e) => e.id).sort());
    });

    it('replays many dead letters at once', async () => {
      const q = await fresh();
      const events = Array.from({ length: 1200 }, (_, i) => webhookEvent(T0 + i));
      await q.add(events);
      expect(await q.claim('n', 2000, 30_000, T0 + 5000)).toHaveLength(1200);
      for (const e of events) await q.bury(e.id, 1, 'x', T0);
      expect(await q.replay('all')).toBe(1200);
      expect(await q.counts()).toMatchObject({ queued: 1200, dead: 0 });
    });

    it('claims at most maxBytes of event JSON (at least one event), oldest first', async () => {
      const q = await fresh();
      const events = [webhookEvent(T0), webhookEvent(T0 + 1), webhookEvent(T0 + 2), webhookEvent(T0 + 3)];
      await q.add(events);
      const size = Buffer.byteLength(JSON.stringify(events[0]));
      expect((await q.claim('a', 10, 1000, T0 + 10, 2 * size + 1)).map((w) => w.event.id)).toEqual([events[0]!.id, events[1]!.id]);
      // One event larger than maxBytes goes alone.
      expect((await q.claim('a', 10, 1000, T0 + 10, 1)).map((w) => w.event.id)).toEqual([events[2]!.id]);
      expect((await q.claim('a', 10, 1000, T0 + 10, 10 * size)).map((w) => w.event.id)).toEqual([events[3]!.id]);
    });

    it('gives each claim its own lease token, the same for every event of the claim', async () => {
      const q = await fresh();
      await q.add([webhookEvent(T0), webhookEvent(T0 + 1), webhookEvent(T0 + 2)]);
      const first = await q.claim('a', 2, 1000, T0 + 10);
      const second = await q.claim('a', 2, 1000, T0 + 10);
      expect(first[0]!.lease).toBe(first[1]!.lease);
      expect(second).toHaveLength(1);
      expect(second[0]!.lease).not.toBe(first[0]!.lease);
    });

    it('fences outcomes: after a takeover the old holder cannot ack, retry or bury; the new holder can', async () => {
      const q = await fresh();
      const [a, b, c] = [webhookEvent(T0), webhookEvent(T0 + 1), webhookEvent(T0 + 2)];
      await q.add([a, b, c]);
      const old = (await q.claim('a', 10, 1000, T0 + 10))[0]!.lease;
      // The lease runs out; node b takes the events over.
      const taken = await q.claim('b', 10, 1000, T0 + 1010);
      expect(taken).toHaveLength(3);
      const lease = taken[0]!.lease;
      expect(await q.ack([a.id], old)).toBe(0);
      expect(await q.retry(b.id, 1, T0 + 1011, 'late', old)).toBe(0);
      expect(await q.bury(c.id, 1, 'late', T0 + 1011, old)).toBe(0);
      expect(await q.release([a.id, b.id, c.id], old)).toBe(0);
      expect(await q.counts()).toMatchObject({ queued: 3, dead: 0 });
      expect(await q.dead(10)).toEqual([]);
      // Still held by b: nothing is due before b's lease ends.
      expect(await q.claim('c', 10, 1000, T0 + 2009)).toEqual([]);
      expect(await q.ack([a.id], lease)).toBe(1);
      expect(await q.retry(b.id, 1, T0 + 1500, 'HTTP 500', lease)).toBe(1);
      expect(await q.bury(c.id, 1, 'HTTP 500', T0 + 1020, lease)).toBe(1);
      expect(await q.counts()).toMatchObject({ queued: 1, dead: 1 });
      // A retry ends the lease: its token no longer holds the event.
      expect(await q.bury(b.id, 2, 'late', T0 + 1020, lease)).toBe(0);
      // An expired lease not taken over still holds: its holder's outcome applies.
      const again = await q.claim('b', 10, 1000, T0 + 1500);
      expect(again.map((w) => w.event.id)).toEqual([b.id]);
      expect(await q.ack([b.id], again[0]!.lease)).toBe(1);
      expect(await q.counts()).toMatchObject({ queued: 0, dead: 1 });
    });

    it('release gives events back due at once, attempts and error unchanged', async () => {
      const q = await fresh();
      const [a, b] = [webhookEvent(T0), webhookEvent(T0 + 1)];
      await q.add([a, b]);
      await q.claim('n', 10, 30_000, T0 + 1);
      await q.retry(a.id, 2, T0 + 5, 'HTTP 502');
      const claimed = await q.claim('n', 10, 30_000, T0 + 5);
      expect(claimed.map((w) => w.event.id)).toEqual([a.id]);
      expect(await q.release([a.id], claimed[0]!.lease)).toBe(1);
      expect(await q.claim('n', 10, 30_000, T0 + 6)).toEqual([{ event: a, attempts: 2, lastError: 'HTTP 502', lease: expect.any(String) }]);
    });

    it('trimDead keeps the newest max dead letters; deleteDead deletes named ones or all', async () => {
      const q = await fresh();
      const events = Array.from({ length: 6 }, (_, i) => webhookEvent(T0 + i));
      await q.add(events);
      await q.claim('n', 10, 30_000, T0 + 10);
      for (const e of events) await q.bury(e.id, 1, 'x', T0 + 20);
      expect(await q.trimDead(10)).toBe(0);
      expect(await q.trimDead(4)).toBe(2);
      expect((await q.dead(10)).map((l) => l.event.id)).toEqual(events.slice(2).map((e) => e.id));
      expect(await q.deleteDead([events[2]!.id, events[0]!.id, 'missing'])).toBe(1);
      expect((await q.dead(10)).map((l) => l.event.id)).toEqual(events.slice(3).map((e) => e.id));
      expect(await q.replay([events[2]!.id])).toBe(0);
      // A deleted letter's id may be queued again.
      await q.add([events[0]!]);
      expect(await q.counts()).toMatchObject({ queued: 1, dead: 3 });
      expect(await q.deleteDead('all')).toBe(3);
      expect(await q.counts()).toMatchObject({ queued: 1, dead: 0 });
      expect(await q.dead(10)).toEqual([]);
    });

    it('counts as leased (where it counts them) only leases that have not run out', async () => {
      const q = await fresh();
      const now = Date.now();
      const [a, b] = [webhookEvent(now - 200_001), webhookEvent(now - 200_000)];
      await q.add([a, b]);
      // a's lease ran out long ago (a killed node's); b's runs for another 50 s.
      expect((await q.claim('a', 1, 1000, now - 150_000)).map((w) => w.event.id)).toEqual([a.id]);
      expect((await q.claim('a', 1, 200_000, now - 149_500)).map((w) => w.event.id)).toEqual([b.id]);
      const counts = await q.counts();
      expect(counts.queued).toBe(2);
      if (counts.leased !== undefined) expect(counts.leased).toBe(1);
    });

    it.runIf(shared)('two nodes never hold the same event (concurrent claims)', async () => {
      const store = randomUUID();
      const [a, b] = [await make(store), await make(store)];
      const events = Array.from({ length: 300 }, (_, i) => webhookEvent(T0 + i));
      await a.add(events);
      const rounds = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).claim(`n${i % 2}`, 20, 30_000, T0 + 1000)),
      );
      const ids = rounds.flat().map((w) => w.event.id);
      expect(ids).toHaveLength(300);
      expect(new Set(ids).size).toBe(300);
    });

    it('rejects calls after close', async () => {
      const q = await fresh();
      await q.close();
      await expect(q.counts()).rejects.toThrow();
      await q.close();
    });
  });
}
